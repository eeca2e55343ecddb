import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, readlink, stat } from 'node:fs/promises';
import type { ConfigEventV1 } from '@vigil/schema';
import type { Counters } from '../counters.js';
import { configCandidates, type ConfigCandidate, type ExecFacts } from './config-candidates.js';
import { extractDirectives } from './config-lines.js';
import { sshIncludes } from './ssh-include.js';

export type ConfigData = ConfigEventV1['config'];

/** What the reader is told of a successful exec. */
export interface ConfigRequest extends Omit<ExecFacts, 'home'> {
  pid: number;
  uid: number;
}

export interface ConfigReaderOptions {
  counters: Counters;
  /** Called once per candidate file that was found (or named and missing), in candidate order. */
  onConfig: (pid: number, data: ConfigData) => void;
  /** Bytes read from a file; a larger file is read this far and marked truncated. Default 64 KiB. */
  maxBytes?: number;
  /** Execs waiting; more are dropped (counted). Default 1024. */
  maxQueue?: number;
  /** Files opened per second across all processes; more are dropped (counted). Default 200. */
  perSecond?: number;
  /** Candidate files per exec; more are dropped (counted). Default 6. */
  perProcess?: number;
  passwd?: string;
  now?: () => number;
}

/**
 * The path is the workload's: a FIFO must not hang the reader (non-blocking open, then not a regular
 * file), a tty must not become the sensor's, and a symlink as the last component is refused (a link to
 * /etc/shadow reads as the link, not the file).
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY;
/** Pseudo-filesystems whose "files" are the sensor's own state, or endless: never read. */
const PSEUDO = /^\/(?:proc|sys|dev)(?:\/|$)/;

/** Why a file was not read, as the event's `error` says it. */
class Refused extends Error {}

/**
 * Reads the config files processes were started with, off the event path: one worker drains a bounded
 * queue after each successful exec, picks the candidate files (config-candidates.ts), opens each as the
 * hostile path it is, and reports its lines of interest (config-lines.ts). Bounded per exec, per second
 * and by queue length, every drop counted.
 */
export class ConfigReader {
  private readonly queue: ConfigRequest[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;
  private readonly maxQueue: number;
  private readonly perSecond: number;
  private readonly perProcess: number;
  private readonly passwd: string;
  private readonly now: () => number;
  private second = 0;
  private openedThisSecond = 0;
  private homes: { mtimeMs: number; byUid: Map<number, string> } | null = null;
  /** Files opened (tests and the heartbeat's counters). */
  opened = 0;

  constructor(private readonly opts: ConfigReaderOptions) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024;
    this.maxQueue = opts.maxQueue ?? 1024;
    this.perSecond = opts.perSecond ?? 200;
    this.perProcess = opts.perProcess ?? 6;
    this.passwd = opts.passwd ?? '/etc/passwd';
    this.now = opts.now ?? Date.now;
  }

  /** Asks for the config files of a process that exec'd; never waits. */
  request(r: ConfigRequest): void {
    if (this.queue.length >= this.maxQueue) {
      this.opts.counters.reject('config.queue-full');
      return;
    }
    this.queue.push(r);
    if (!this.running) this.idle = this.drain();
  }

  /** Resolves once the queue is empty (tests, and the sensor's stop). */
  async settled(): Promise<void> {
    while (this.running || this.queue.length > 0) await this.idle;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let r = this.queue.shift(); r; r = this.queue.shift()) {
        try {
          await this.run(r);
        } catch {
          this.opts.counters.reject('config.failed');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async run(r: ConfigRequest): Promise<void> {
    const home = await this.homeOf(r.uid);
    let candidates = configCandidates({ ...r, ...(home !== undefined ? { home } : {}) });
    if (candidates.length > this.perProcess) {
      this.opts.counters.reject('config.per-process', candidates.length - this.perProcess);
      candidates = candidates.slice(0, this.perProcess);
    }
    // An ssh config's Include lines add the files they name (within the same per-process bound).
    let budget = this.perProcess - candidates.length;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (!this.allowOpen()) {
        this.opts.counters.reject('config.rate-limited');
        continue;
      }
      const data = await this.read(c, r.uid);
      if (data) this.opts.onConfig(r.pid, data);
      if (!c.ssh || !data || data.error !== null) continue;
      for (const path of await sshIncludes(data.directives, c.path, home)) {
        if (candidates.some((x) => x.path === path)) continue;
        if (budget-- <= 0) {
          this.opts.counters.reject('config.per-process');
          continue;
        }
        candidates.push({ path, reason: 'ssh-config', named: false, ssh: true });
      }
    }
  }

  private allowOpen(): boolean {
    const s = Math.floor(this.now() / 1000);
    if (s !== this.second) {
      this.second = s;
      this.openedThisSecond = 0;
    }
    return ++this.openedThisSecond <= this.perSecond;
  }

  /** The file's lines of interest, an event with the reason it was not read, or null if it is not there. */
  async read(c: ConfigCandidate, uid: number): Promise<ConfigData | null> {
    const base = { path: c.path, reason: c.reason, size: null, sha256: null, directives: [], truncated: false };
    if (PSEUDO.test(c.path)) return { ...base, error: 'not a regular file (a pseudo-filesystem path)' };
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(c.path, OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return c.named ? { ...base, error: 'no such file' } : null;
      this.opts.counters.reject('config.unreadable');
      return { ...base, error: code === 'ELOOP' ? 'a symlink (not followed)' : `cannot open: ${code ?? 'error'}` };
    }
    this.opened++;
    try {
      const st = await fh.stat();
      // What was opened, after any symlinked directory on the way: /proc/self/… would be the sensor's.
      const real = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => '');
      if (!st.isFile() || PSEUDO.test(real)) throw new Refused('not a regular file');
      if (!readableBy(st, uid)) throw new Refused("not readable by the process's user");
      const want = Math.min(st.size, this.maxBytes);
      const buf = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const cut = st.size > this.maxBytes;
      const { directives, truncated } = extractDirectives(buf.subarray(0, got).toString('utf8'));
      return {
        ...base,
        size: st.size,
        // The content's hash, when all of it was read.
        sha256: cut ? null : createHash('sha256').update(buf.subarray(0, got)).digest('hex'),
        directives,
        truncated: cut || truncated,
        error: null,
      };
    } catch (err) {
      this.opts.counters.reject('config.refused');
      return { ...base, error: err instanceof Refused ? err.message : 'read failed' };
    } finally {
      await fh.close();
    }
  }

  /** The home directory of `uid` from the passwd file, reread when it changes. */
  private async homeOf(uid: number): Promise<string | undefined> {
    try {
      const st = await stat(this.passwd);
      if (this.homes?.mtimeMs !== st.mtimeMs) {
        const byUid = new Map<number, string>();
        for (const line of (await readFile(this.passwd, 'utf8')).split('\n')) {
          const f = line.split(':');
          if (f.length >= 7 && /^\d+$/.test(f[2]!) && !byUid.has(Number(f[2]))) byUid.set(Number(f[2]), f[5]!);
        }
        this.homes = { mtimeMs: st.mtimeMs, byUid };
      }
      return this.homes.byUid.get(uid);
    } catch {
      return undefined;
    }
  }
}

/**
 * Whether a user could read the file by its owner and other bits (the group's are not counted: the
 * sensor does not know the process's groups). Root reads what it owns or any file with a read bit.
 */
export function readableBy(st: { uid: number; mode: number }, uid: number): boolean {
  if ((st.mode & 0o004) !== 0) return true;
  if (st.uid === uid && (st.mode & 0o400) !== 0) return true;
  return uid === 0 && (st.mode & 0o444) !== 0;
}
