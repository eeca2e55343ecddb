import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readlink, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Counters } from '../counters.js';

/**
 * What the sensor learns about a process's executable file, filled in by the hasher after the exec
 * event is out: shared by the process's entry and every child forked before its next exec (a fork
 * runs the same image).
 */
export interface ExeIdentity {
  /** SHA-256 of the file's content, hex; undefined until hashed, or when it could not be. */
  sha256?: string;
  /** The file's mtime or ctime was within the recent window at the exec: dropped, then run. */
  recentlyWritten?: boolean;
  /** Its directory is writable by every user (sticky /tmp, /dev/shm) or owned by a user other than root. */
  inWritableDir?: boolean;
}

/** A hashed executable, as the hasher reports it once per path whose file is new or changed. */
export interface ExeHashed {
  pid: number;
  path: string;
  sha256: string;
  size: number;
  recentlyWritten: boolean;
  inWritableDir: boolean;
  /** A reference hash of the host's own copy of a well-known tool, reported under the name looked up. */
  reference?: boolean;
}

/**
 * Execs of a file descriptor rather than a path: `fexecve` (the kernel names it /dev/fd/N),
 * `execve("/proc/self/fd/N")`, or a memfd whose /proc/<pid>/exe reads `/memfd:NAME (deleted)`.
 */
const FD_PATH = /^\/(?:proc\/(?:self|thread-self|\d+)\/fd|dev\/fd)\/\d+$/;
const MEMFD = /^\/memfd:(.*) \(deleted\)$/;

/** The image is gone and had no path to read it by (a fileless exec whose process has exited). */
export class NoPathError extends Error {
  constructor(readonly path: string) {
    super(`no file to hash for ${path}`);
    this.name = 'NoPathError';
  }
}

export interface Fileless {
  fileless: true;
  exe: string;
  memfdName?: string;
}

/**
 * Whether an exec ran a program that has no path of its own, and the name to show for it: the memfd
 * as the kernel names it (never the sensor's own /proc/self/fd/N, which a realpath would resolve).
 */
export function filelessExec(filename: string, procExe: string | undefined): Fileless | null {
  // A path exec whose /proc/<pid>/exe shows a memfd was read after a later exec: not this image.
  if (!FD_PATH.test(filename) && filename !== '') return null;
  const memfd = procExe !== undefined ? MEMFD.exec(procExe) : null;
  if (memfd) return { fileless: true, exe: procExe!, memfdName: memfd[1]! };
  return { fileless: true, exe: procExe && !procExe.startsWith('/proc/') ? procExe : filename };
}

/**
 * A path that resolves into /proc or a memfd only as the sensor sees it (a symlink to
 * /proc/self/fd/N names the sensor's own descriptor): the exec ran a descriptor, not a file.
 */
export function resolvesToDescriptor(resolved: string): boolean {
  return resolved.startsWith('/proc/') || resolved.startsWith('/memfd:') || resolved.startsWith('/dev/fd/');
}

export interface ExeHasherOptions {
  counters: Counters;
  /** Called once per path whose file (device, inode, mtime, size) is new or changed since its last report. */
  onHashed?: (h: ExeHashed) => void;
  /** Files larger are not hashed (counted). Default 256 MiB. */
  maxBytes?: number;
  /** Jobs waiting; more are dropped (counted). Default 4096. */
  maxQueue?: number;
  /** mtime or ctime this close to the exec marks the file recently written. Default 10 minutes. */
  recentMs?: number;
  procRoot?: string;
  now?: () => number;
}

interface Job {
  pid: number;
  path: string;
  alive: boolean;
  into: ExeIdentity;
  at: number;
  /** A reference job: the file `path` names after its symlinks, opened instead of `path`. */
  resolved?: string;
}

const MAX_CACHE = 8192;

/**
 * The path is the workload's to change between the exec and the open: a FIFO put there must not hang
 * the worker (non-blocking open, then not a regular file), nor a tty become the sensor's, nor a symlink
 * to a file the workload cannot read be hashed for it.
 */
const PATH_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY;

/**
 * Hashes executables off the event path: one worker drains a bounded queue, reading the file that
 * ran through /proc/<pid>/exe while the process lives (a replaced or deleted file still hashes what
 * ran), else the path. Results are cached by device, inode, mtime and size, so an exec storm of one
 * binary costs one fstat per exec.
 */
export class ExeHasher {
  private readonly queue: Job[] = [];
  /** Reference jobs, taken only when no exec's image waits: they never delay an exec's hash. */
  private readonly references: Job[] = [];
  private running = false;
  private readonly cache = new Map<string, string>();
  /** The identity key last reported per path. */
  private readonly reported = new Map<string, string>();
  private readonly maxBytes: number;
  private readonly maxQueue: number;
  private readonly recentMs: number;
  private readonly procRoot: string;
  private readonly now: () => number;
  private idle: Promise<void> = Promise.resolve();
  /** Files read and hashed (cache misses). */
  hashed = 0;
  cacheHits = 0;

  constructor(private readonly opts: ExeHasherOptions) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.maxQueue = opts.maxQueue ?? 4096;
    this.recentMs = opts.recentMs ?? 10 * 60_000;
    this.procRoot = opts.procRoot ?? '/proc';
    this.now = opts.now ?? Date.now;
  }

  get depth(): number {
    return this.queue.length + this.references.length;
  }

  /** Asks for `into` to be filled for the image `pid` runs from `path`; never waits. */
  request(pid: number, path: string, alive: boolean, into: ExeIdentity): void {
    if (this.queue.length >= this.maxQueue) {
      this.opts.counters.reject('exe-hash.queue-full');
      return;
    }
    this.queue.push({ pid, path, alive, into, at: this.now() });
    if (!this.running) this.idle = this.drain();
  }

  /**
   * Asks for a reference hash of the file `resolved` (what the installed tool `path` names after its
   * symlinks), reported under `path` as the sensor's own: `/usr/bin/nc` -> `nc.openbsd` is reported as
   * /usr/bin/nc, so a copy of nc.openbsd is known as nc. Hashed when no exec's image waits; never waits.
   */
  requestReference(path: string, resolved: string): void {
    if (this.references.length >= this.maxQueue) {
      this.opts.counters.reject('exe-hash.queue-full');
      return;
    }
    this.references.push({ pid: process.pid, path, resolved, alive: false, into: {}, at: this.now() });
    if (!this.running) this.idle = this.drain();
  }

  /** Resolves once the queue is empty (tests, and the sensor's stop). */
  async settled(): Promise<void> {
    while (this.running || this.depth > 0) await this.idle;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let job = this.next(); job; job = this.next()) await this.runCounted(job);
    } finally {
      this.running = false;
    }
  }

  /** Runs the execs' jobs waiting now (a reference job calls it between the chunks it reads). */
  private async runExecs(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.runCounted(job);
  }

  private async runCounted(job: Job): Promise<void> {
    try {
      await this.run(job);
    } catch (err) {
      this.opts.counters.reject(err instanceof NoPathError ? 'exe-hash.no-path' : 'exe-hash.unreadable');
    }
  }

  private next(): Job | undefined {
    return this.queue.shift() ?? this.references.shift();
  }

  private async openImage(job: Job): Promise<FileHandle> {
    if (job.resolved !== undefined) return open(job.resolved, PATH_FLAGS);
    if (job.alive) {
      const link = `${this.procRoot}/${job.pid}/exe`;
      let fh: FileHandle | undefined;
      try {
        fh = await open(link, 'r');
        // Still the image this job is about (the process may have exec'd again since, or be gone and
        // its pid taken): what the link names after the open is what was opened, or a newer image.
        const now = await readlink(link);
        if (now === job.path || now === `${job.path} (deleted)`) return fh;
      } catch {
        // Gone since the exec was applied: the path is all that is left.
      }
      await fh?.close();
    }
    // A fileless image has no path: /proc/self/fd/N here would be the sensor's own descriptor.
    if (!job.path.startsWith('/') || job.path.startsWith('/memfd:') || FD_PATH.test(job.path))
      throw new NoPathError(job.path);
    return open(job.path, PATH_FLAGS);
  }

  private async run(job: Job): Promise<void> {
    const fh = await this.openImage(job);
    try {
      const st = await fh.stat({ bigint: true });
      if (!st.isFile()) {
        this.opts.counters.reject('exe-hash.not-a-file');
        return;
      }
      // Exec needs an execute bit: a file without one at the path is not what ran.
      if ((st.mode & 0o111n) === 0n) {
        this.opts.counters.reject('exe-hash.not-executable');
        return;
      }
      const mtimeMs = Number(st.mtimeNs / 1_000_000n);
      const ctimeMs = Number(st.ctimeNs / 1_000_000n);
      job.into.recentlyWritten = job.at - Math.max(mtimeMs, ctimeMs) < this.recentMs;
      job.into.inWritableDir = await this.inWritableDir(job.resolved ?? job.path);
      if (st.size > BigInt(this.maxBytes)) {
        this.opts.counters.reject('exe-hash.too-large');
        return;
      }
      const key = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
      let sha = this.cache.get(key);
      if (sha !== undefined) this.cacheHits++;
      else {
        // A reference (node is 100 MB) steps aside between chunks for any exec's image that came in.
        sha = await hashHandle(fh, Number(st.size), job.resolved !== undefined ? () => this.runExecs() : undefined);
        this.hashed++;
        if (this.cache.size >= MAX_CACHE) this.cache.clear();
        this.cache.set(key, sha);
      }
      job.into.sha256 = sha;
      // A reference and an exec of the same path are separate reports: one names no process.
      const reportAs = job.resolved !== undefined ? `reference:${job.path}` : job.path;
      if (this.reported.get(reportAs) === key) return;
      if (this.reported.size >= MAX_CACHE) this.reported.clear();
      this.reported.set(reportAs, key);
      this.opts.onHashed?.({
        pid: job.pid,
        path: job.path,
        sha256: sha,
        size: Number(st.size),
        recentlyWritten: job.into.recentlyWritten,
        inWritableDir: job.into.inWritableDir,
        ...(job.resolved !== undefined ? { reference: true } : {}),
      });
    } finally {
      await fh.close();
    }
  }

  private async inWritableDir(path: string): Promise<boolean> {
    if (!path.startsWith('/') || path.startsWith('/memfd:')) return false;
    try {
      const d = await stat(dirname(path));
      return (d.mode & 0o002) !== 0 || d.uid !== 0;
    } catch {
      return false;
    }
  }
}

/** Hashes the first `size` bytes (the size checked against the bound: a file growing meanwhile stops there). */
async function hashHandle(fh: FileHandle, size: number, between?: () => Promise<void>): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    h.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
    if (pos < size) await between?.();
  }
  return h.digest('hex');
}
