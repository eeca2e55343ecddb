import type { EventV1, ProcessV1 } from '@vigil/schema';

/** Paths remembered per host before the oldest go. */
const MAX_PATHS = 65_536;

/**
 * The SHA-256 of each executable path per host, from every event that carries one (the sensor's `exe`
 * events, and `proc.exeHash` on events built after it hashed the image). Lets a detection ask "is
 * this ssh?" of a process whose own events came before its hash did. A path's newest report wins:
 * the sensor reports a path again when its file changes.
 */
export class ExeHashes {
  private readonly byHost = new Map<string, Map<string, string>>();

  constructor(private readonly maxPaths = MAX_PATHS) {}

  observe(ev: EventV1): void {
    if (ev.kind === 'exe') this.put(ev.host, ev.exe.path, ev.exe.sha256);
    else if (ev.proc.exeHash !== undefined && ev.proc.exe !== '') this.put(ev.host, ev.proc.exe, ev.proc.exeHash);
  }

  /** The hash of what `proc` runs: its own when its event carries one, else the last known for its path. */
  of(host: string, proc: ProcessV1): string | undefined {
    return proc.exeHash ?? this.byHost.get(host)?.get(proc.exe);
  }

  private put(host: string, path: string, sha256: string): void {
    let paths = this.byHost.get(host);
    if (!paths) this.byHost.set(host, (paths = new Map()));
    paths.delete(path);
    paths.set(path, sha256);
    if (paths.size > this.maxPaths) paths.delete(paths.keys().next().value!);
  }
}
