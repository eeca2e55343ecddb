import type { ExecEventV1 } from '@vigil/schema';

/** Pipes remembered per host before the oldest go. */
const MAX_PIPES = 16_384;
/** A pipe's execs are kept this long: the two ends of `a | b` exec within moments of each other. */
const PIPE_TTL_MS = 5 * 60_000;
/** Execs kept per pipe: a pipeline's two ends, and a few more for `a | tee x | b`-like fan-ins. */
const EXECS_PER_PIPE = 8;

interface PipeEntry {
  execs: ExecEventV1[];
  seen: number;
}

/**
 * Recent execs per host by the inode of an anonymous pipe on their stdio (fds 0-2 as the exec probe
 * read them). Both ends of one pipe share the inode, so the reader of `curl … | sh` finds its writer
 * and the writer its reader, whichever exec came first. Bounded per host and aged: a pipe inode is
 * reused once the pipe is freed, so an old entry must not pair a later process.
 */
export class StdioPipes {
  private readonly byHost = new Map<string, Map<number, PipeEntry>>();

  constructor(
    private readonly now: () => number,
    private readonly maxPipes = MAX_PIPES,
    private readonly ttlMs = PIPE_TTL_MS,
  ) {}

  observe(ev: ExecEventV1): void {
    const inos = new Set<number>();
    for (const fd of ev.exec.stdio ?? []) if ((fd.type === 'pipe' || fd.type === 'fifo') && fd.ino) inos.add(fd.ino);
    if (inos.size === 0) return;
    let pipes = this.byHost.get(ev.host);
    if (!pipes) this.byHost.set(ev.host, (pipes = new Map()));
    const now = this.now();
    for (const ino of inos) {
      let e = pipes.get(ino);
      if (e && now - e.seen > this.ttlMs) e = undefined;
      if (!e) e = { execs: [], seen: now };
      // Most recent last: a re-inserted key moves to the back of the eviction order.
      pipes.delete(ino);
      pipes.set(ino, e);
      e.seen = now;
      e.execs.push(ev);
      if (e.execs.length > EXECS_PER_PIPE) e.execs.shift();
    }
    while (pipes.size > this.maxPipes) pipes.delete(pipes.keys().next().value!);
  }

  /** The recent execs with a pipe of this inode on fd 0, 1 or 2, oldest first. */
  peers(host: string, ino: number): readonly ExecEventV1[] {
    const e = this.byHost.get(host)?.get(ino);
    return e && this.now() - e.seen <= this.ttlMs ? e.execs : [];
  }

  /** Lets go of pipes not seen within the TTL; call every second or so. */
  sweep(): void {
    const now = this.now();
    for (const [host, pipes] of this.byHost) {
      for (const [ino, e] of pipes) {
        if (now - e.seen <= this.ttlMs) break;
        pipes.delete(ino);
      }
      if (pipes.size === 0) this.byHost.delete(host);
    }
  }
}
