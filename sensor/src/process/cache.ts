import type { AncestorV1, ProcessV1 } from '@vigil/schema';
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { readCgroup, readCwd, readExe, readProc, type ProcInfo } from '../host/procfs.js';
import { containerIdOf, jobOf } from './cgroup.js';
import { filelessExec, resolvesToDescriptor, type ExeHasher, type ExeIdentity } from './exe-identity.js';
import type { ConfigReader } from './config-files.js';

/**
 * /proc/<pid>/cmdline can hold megabytes; events carry this process and its ancestors, so argv read
 * from /proc is bounded like the probe's (flagged when cut).
 */
export const PROC_ARGV_MAX_ARGS = 64;
export const PROC_ARGV_MAX_BYTES = 8192;

export function capArgv(argv: string[]): { argv: string[]; truncated: boolean } {
  const out: string[] = [];
  let bytes = 0;
  for (const a of argv.slice(0, PROC_ARGV_MAX_ARGS)) {
    const room = PROC_ARGV_MAX_BYTES - bytes;
    if (room <= 0) return { argv: out, truncated: true };
    const cut = Buffer.byteLength(a) > room ? Buffer.from(a).subarray(0, room).toString('utf8') : a;
    out.push(cut);
    bytes += Buffer.byteLength(cut);
    if (cut !== a) return { argv: out, truncated: true };
  }
  return { argv: out, truncated: argv.length > PROC_ARGV_MAX_ARGS };
}

/**
 * When the process is already gone, its image is the execve filename with symlinks resolved (/bin is
 * a link to /usr/bin on merged-/usr hosts); the filename as given when even that fails.
 */
/**
 * Resolved paths, kept a short while: a process that exits at once (the common case in an exec storm)
 * is gone before /proc/<pid>/exe can be read, and realpath costs an lstat per path component.
 */
const resolved = new Map<string, { path: string; until: number }>();
const RESOLVED_TTL_MS = 10_000;

/**
 * What a new image is: the path /proc showed (the filename given to execve may be relative or a
 * symlink), else the filename resolved; a program run from a descriptor (memfd, /proc/self/fd/N) is
 * fileless and named as such.
 */
function imageOf(
  filename: string,
  exe: string | undefined,
  cwd: string | undefined,
): { image: string; fileless: ReturnType<typeof filelessExec> } {
  const fileless = filelessExec(filename, exe);
  const image =
    fileless?.exe ??
    (exe && !exe.endsWith(' (deleted)') && !exe.startsWith('/memfd:') ? exe : resolveFilename(filename, cwd));
  if (!fileless && resolvesToDescriptor(image)) return { image: filename, fileless: { fileless: true, exe: filename } };
  return { image, fileless };
}

function resolveFilename(filename: string, cwd: string | undefined): string {
  const path = isAbsolute(filename) || !cwd ? filename : resolve(cwd, filename);
  const now = Date.now();
  const hit = resolved.get(path);
  if (hit && hit.until > now) return hit.path;
  let out: string;
  try {
    out = realpathSync(path);
  } catch {
    return filename;
  }
  if (resolved.size >= 4096) resolved.clear();
  resolved.set(path, { path: out, until: now + RESOLVED_TTL_MS });
  return out;
}

/**
 * A process's ancestors as they were when it was born, nearest first: one node per ancestor, shared by
 * every descendant born after it and never changed. An ancestor that execs or exits later does not
 * change what its children carry (a parent that forks a miner and then execs something harmless, or
 * exits so that the child is reparented, does not launder the child's ancestry).
 */
interface Lineage {
  readonly self: AncestorV1;
  readonly up: Up;
  /** Nodes from this one up. */
  readonly length: number;
}
/** Past the last node there are ancestors the sensor does not know (unresolved, or past the bound). */
const CUT = 'cut';
/** What is above a process: its ancestors, none (a root of the tree such as pid 1), or not known. */
type Up = Lineage | null | typeof CUT;

interface Entry {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  comm: string;
  exe: string;
  argv: string[];
  argvTruncated: boolean;
  cwd?: string;
  cgroupId: number;
  cgroup: string;
  startTs: bigint | null;
  /** When the process exited (monotonic ms); kept a while for late window records. */
  exitedAt: number | null;
  /**
   * Kernel time (ktime ns) of the newest fork or exec applied. Each probe is its own bpftrace
   * process, so a fork can be read after the child's exec: records older than this are not applied.
   */
  ktime: number;
  /**
   * This process as an ancestor, made once: what it carries never changes for an entry (an exec puts
   * a new entry), and sharing the object lets the encoder reuse its JSON for every descendant's event.
   */
  asAncestor?: AncestorV1;
  /**
   * Its ancestors at its birth (the fork record), kept through its execs; for a process whose fork was
   * not seen (seeded from /proc, read on a miss), taken from the table the first time it is needed.
   */
  born?: Up;
  /**
   * The image this entry's exec replaced (one level, for a few seconds): a fork record read after the
   * parent's later exec (a merge let go by its hold) still finds the parent as it was.
   */
  previous?: Entry;
  /** When an exec replaced this entry (monotonic ms). */
  replacedAt?: number;
  /** The image's hash and file facts, filled in later by the hasher; shared with children forked from it. */
  identity?: ExeIdentity;
  fileless?: boolean;
  memfdName?: string;
  /** Whether this process has exited, kept across its execs and seen by the children born under it. */
  life: Life;
  /** The parent's `life` at this process's birth: once that parent exits, this one was re-parented. */
  parentLife?: Life;
}

interface Life {
  exited: boolean;
}

/** How long a replaced image stays findable by forks from before its exec. */
const PREVIOUS_MS = 5_000;

export interface ProcessCacheOptions {
  procRoot?: string;
  /** Ancestors carried by each event, nearest first. */
  maxAncestry?: number;
  /** How long an exited process stays resolvable (window records arrive after the fact). */
  exitGraceMs?: number;
  maxEntries?: number;
  now?: () => number;
  /** Hashes each new image off the event path (none: events carry no executable hash). */
  hasher?: ExeHasher;
  /** Reads the config files each new image was started with, off the event path (none: not read). */
  configs?: ConfigReader;
}

/**
 * The sensor's process table: seeded from /proc, then kept by fork, exec and exit records so that
 * every event carries its ancestry even for processes that lived a few milliseconds.
 */
export class ProcessCache {
  private readonly entries = new Map<number, Entry>();
  private readonly procRoot: string;
  private readonly maxAncestry: number;
  private readonly exitGraceMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly hasher: ExeHasher | undefined;
  private readonly configs: ConfigReader | undefined;
  /** Resolved from /proc on a miss; counted for the heartbeat. */
  lazyReads = 0;

  constructor(opts: ProcessCacheOptions = {}) {
    this.procRoot = opts.procRoot ?? '/proc';
    this.maxAncestry = opts.maxAncestry ?? 16;
    this.exitGraceMs = opts.exitGraceMs ?? 30_000;
    this.maxEntries = opts.maxEntries ?? 131_072;
    this.now = opts.now ?? (() => performance.now());
    this.hasher = opts.hasher;
    this.configs = opts.configs;
  }

  get size(): number {
    return this.entries.size;
  }

  seedFromProc(pids: number[]): void {
    for (const pid of pids) {
      const info = readProc(pid, this.procRoot);
      if (info) this.entries.set(pid, this.fromInfo(info, 0));
    }
    // Every ancestry as the host is now: a parent that execs later does not rewrite its children's.
    for (const e of this.entries.values()) this.lineageOf(e);
  }

  onFork(ppid: number, pid: number, startTs: bigint, cgroupId: number, ktime = 0): void {
    const parent = this.imageAt(ppid, ktime);
    const existing = this.entries.get(pid);
    if (existing && existing.ktime > ktime) {
      existing.ppid = ppid;
      if (parent) {
        existing.born = this.link(parent, this.lineageOf(parent));
        existing.parentLife = parent.life;
      }
      return;
    }
    this.put({
      pid,
      ppid,
      uid: parent?.uid ?? 0,
      gid: parent?.gid ?? 0,
      comm: parent?.comm ?? '',
      exe: parent?.exe ?? '',
      argv: parent?.argv ?? [],
      argvTruncated: parent?.argvTruncated ?? false,
      ...(parent?.cwd !== undefined ? { cwd: parent.cwd } : {}),
      cgroupId,
      cgroup: parent?.cgroup ?? '/',
      startTs,
      exitedAt: null,
      ktime,
      life: { exited: false },
      ...(parent ? { born: this.link(parent, this.lineageOf(parent)), parentLife: parent.life } : {}),
      ...(parent?.identity ? { identity: parent.identity } : {}),
      ...(parent?.fileless
        ? { fileless: true, ...(parent.memfdName !== undefined ? { memfdName: parent.memfdName } : {}) }
        : {}),
    });
  }

  onExec(e: {
    pid: number;
    ppid: number;
    uid: number;
    gid: number;
    comm: string;
    filename: string;
    argv: string[];
    argvTruncated: boolean;
    cgroupId: number;
    ktime?: number;
    /**
     * The process is known to have exited or exec'd again since (a later record of the same flush):
     * /proc would show nothing, or the next image, so it is not read.
     */
    superseded?: boolean;
  }): void {
    const prev = this.entries.get(e.pid);
    const ktime = e.ktime ?? 0;
    if (prev && prev.ktime > ktime) return;
    // The new image is read from /proc when the process is still there: the filename given to execve
    // may be relative or a symlink.
    const exe = e.superseded ? undefined : readExe(e.pid, this.procRoot);
    const liveCwd = e.superseded ? undefined : readCwd(e.pid, this.procRoot);
    const cwd = liveCwd ?? prev?.cwd;
    // Still in the cgroup it was forked into (the fork record carried the kernel's cgroup id): no read.
    const sameCgroup = prev !== undefined && e.cgroupId > 0 && prev.cgroupId === e.cgroupId;
    const cgroup = (sameCgroup ? prev.cgroup : this.cgroupPath(e.pid, e.cgroupId)) ?? prev?.cgroup ?? '/';
    // The same process, born where it was: its ancestry stays (taken now if it was never taken).
    const born = prev ? this.lineageOf(prev) : undefined;
    if (prev) {
      prev.previous = undefined;
      prev.replacedAt = this.now();
    }
    const { image, fileless } = imageOf(e.filename, exe, cwd);
    const identity: ExeIdentity = {};
    // The live process's image is read through /proc only when /proc showed this image at the exec.
    this.hasher?.request(e.pid, image, exe === image || exe === `${image} (deleted)`, identity);
    // Relative config paths are resolved only against the cwd read from the live process: one that is
    // gone already has absolute ones and the files beside its image read, never a guessed cwd.
    const started = fileless ? image : resolveFilename(e.filename, cwd);
    this.configs?.request({
      pid: e.pid,
      uid: e.uid,
      argv: e.argv,
      exe: image,
      ...(started !== image && started.startsWith('/') ? { script: started } : {}),
      ...(liveCwd !== undefined ? { cwd: liveCwd } : {}),
    });
    this.put({
      pid: e.pid,
      ppid: e.ppid,
      uid: e.uid,
      gid: e.gid,
      comm: e.comm,
      exe: image,
      argv: e.argv,
      argvTruncated: e.argvTruncated,
      ...(cwd !== undefined ? { cwd } : {}),
      cgroupId: e.cgroupId,
      cgroup,
      startTs: prev?.startTs ?? null,
      exitedAt: prev?.exitedAt ?? null,
      ktime,
      ...(born !== undefined ? { born } : {}),
      ...(prev ? { previous: prev } : {}),
      identity,
      ...(fileless
        ? { fileless: true, ...(fileless.memfdName !== undefined ? { memfdName: fileless.memfdName } : {}) }
        : {}),
      life: prev?.life ?? { exited: false },
      ...(prev?.parentLife ? { parentLife: prev.parentLife } : {}),
    });
  }

  /** cgroup v2 ids are kernfs inode numbers, not reused while the host runs: one /proc read per cgroup. */
  private readonly cgroupPaths = new Map<number, string>();

  private cgroupPath(pid: number, cgroupId: number): string | null {
    const known = cgroupId > 0 ? this.cgroupPaths.get(cgroupId) : undefined;
    if (known !== undefined) return known;
    const path = readCgroup(pid, this.procRoot);
    if (path !== null && cgroupId > 0) {
      if (this.cgroupPaths.size >= 10_000) this.cgroupPaths.clear();
      this.cgroupPaths.set(cgroupId, path);
    }
    return path;
  }

  /** An exit read before the exec it follows keeps the exec applicable: exits do not move ktime. */
  onExit(pid: number): void {
    const e = this.entries.get(pid);
    if (e) {
      e.exitedAt = this.now();
      e.life.exited = true;
    }
  }

  /** Drops exited processes past their grace period; call on a timer. */
  sweep(): number {
    const cutoff = this.now() - this.exitGraceMs;
    let removed = 0;
    const replacedBefore = this.now() - PREVIOUS_MS;
    for (const [pid, e] of this.entries) {
      if (e.previous && e.previous.replacedAt! < replacedBefore) e.previous = undefined;
      if (e.exitedAt !== null && e.exitedAt < cutoff) {
        this.entries.delete(pid);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Live processes born under `pid` (anywhere up their ancestry at birth) since `sinceTs`, that
   * process's start: a response's tree includes those re-parented away from it (a double fork,
   * `setsid`, a parent that exited). One born before `sinceTs` was under an earlier process with the
   * same pid. Those with no start time known are left out: their pid could not be checked.
   */
  bornUnder(pid: number, sinceTs: bigint): { pid: number; startTs: bigint }[] {
    const out: { pid: number; startTs: bigint }[] = [];
    for (const e of this.entries.values()) {
      if (e.life.exited || e.pid === pid || e.startTs === null || e.startTs < sinceTs) continue;
      for (let up = this.lineageOf(e); up !== null && up !== CUT; up = up.up) {
        if (up.self.pid !== pid) continue;
        out.push({ pid: e.pid, startTs: e.startTs });
        break;
      }
    }
    return out;
  }

  /**
   * The process as events carry it, with its ancestry; a stub when nothing at all is known. `hint`
   * holds what the probe read in the kernel with the event itself.
   */
  describe(pid: number, hint: { comm?: string; uid?: number; cgroupId?: number } = {}): ProcessV1 {
    const e = this.lookup(pid);
    const ancestry: AncestorV1[] = [];
    let up: Up = e ? this.lineageOf(e) : CUT;
    for (; up !== null && up !== CUT && ancestry.length < this.maxAncestry; up = up.up) ancestry.push(up.self);
    const truncated = up !== null;
    const cgroup = e?.cgroup ?? '/';
    return {
      pid,
      ppid: e?.ppid ?? 0,
      uid: hint.uid ?? e?.uid ?? 0,
      gid: e?.gid ?? 0,
      // The probe's comm and uid were read in the kernel at the event: they win over the table's.
      comm: hint.comm || e?.comm || '',
      exe: e?.exe ?? '',
      argv: e?.argv ?? [],
      argvTruncated: e?.argvTruncated ?? false,
      ...(e?.cwd !== undefined ? { cwd: e.cwd } : {}),
      cgroupId: e?.cgroupId ?? hint.cgroupId ?? 0,
      cgroup,
      containerId: containerIdOf(cgroup),
      job: jobOf(cgroup),
      startTs: e?.startTs != null ? e.startTs.toString() : null,
      ancestry,
      ancestryTruncated: truncated,
      ...(e ? this.extras(e) : {}),
    };
  }

  /** What is known of `e` beyond the table's basics: re-parenting, its image's hash and origin. */
  private extras(e: Entry): Partial<ProcessV1> {
    const out: Partial<ProcessV1> = {};
    const born = this.lineageOf(e);
    const bornUnder = born !== null && born !== CUT ? born.self.pid : undefined;
    if (e.parentLife?.exited || (bornUnder !== undefined && e.ppid !== 0 && e.ppid !== bornUnder))
      out.reparented = true;
    const id = e.identity;
    if (id?.sha256 !== undefined) out.exeHash = id.sha256;
    if (id?.recentlyWritten !== undefined) out.exeRecentlyWritten = id.recentlyWritten;
    if (id?.inWritableDir !== undefined) out.exeInWritableDir = id.inWritableDir;
    if (e.fileless) out.fileless = true;
    if (e.memfdName !== undefined) out.memfdName = e.memfdName;
    return out;
  }

  /** The image `pid` ran at kernel time `ktime`: the one before its last exec if that came later. */
  private imageAt(pid: number, ktime: number): Entry | undefined {
    const e = this.lookup(pid);
    return e && e.ktime > ktime && e.previous && e.previous.ktime <= ktime ? e.previous : e;
  }

  /**
   * The ancestors of `e` at its birth, taken from the table now when its fork was not seen (the chain
   * stops at the bound, a cycle, or a parent nobody knows). Kept, so later execs up the chain do not
   * change it.
   */
  private lineageOf(e: Entry): Up {
    if (e.born !== undefined) return e.born;
    const path: Entry[] = [];
    const seen = new Set<number>([e.pid]);
    let top: Up = null;
    for (let cur = e; cur.ppid !== 0; ) {
      if (path.length >= this.maxAncestry || seen.has(cur.ppid)) {
        top = CUT;
        break;
      }
      const parent = this.lookup(cur.ppid);
      if (!parent) {
        top = CUT;
        break;
      }
      path.push(parent);
      seen.add(parent.pid);
      if (parent.born !== undefined) {
        top = parent.born;
        break;
      }
      cur = parent;
    }
    let up = top;
    for (let i = path.length - 1; i >= 0; i--) up = this.link(path[i]!, up);
    return (e.born = up);
  }

  /**
   * `parent` as a child born now sees it, over its own ancestors. A chain longer than twice the bound
   * is copied down to the bound (once per bound's worth of generations): a process that forks and
   * exits over and over would otherwise keep every generation before it alive.
   */
  private link(parent: Entry, up: Up): Lineage {
    const self = (parent.asAncestor ??= { pid: parent.pid, comm: parent.comm, exe: parent.exe, argv: parent.argv });
    const length = 1 + (up !== null && up !== CUT ? up.length : 0);
    if (length <= Math.max(1, 2 * this.maxAncestry)) return { self, up, length };
    const kept: AncestorV1[] = [self];
    for (let n: Up = up; n !== null && n !== CUT && kept.length < this.maxAncestry; n = n.up) kept.push(n.self);
    let copy: Up = CUT;
    for (let i = kept.length - 1; i >= 0; i--) copy = { self: kept[i]!, up: copy, length: kept.length - i };
    return copy as Lineage;
  }

  private lookup(pid: number): Entry | undefined {
    const hit = this.entries.get(pid);
    if (hit || pid <= 0) return hit;
    const info = readProc(pid, this.procRoot);
    if (!info) return undefined;
    this.lazyReads++;
    const entry = this.fromInfo(info, 0);
    this.put(entry);
    return entry;
  }

  private put(entry: Entry): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(entry.pid)) this.evict();
    this.entries.set(entry.pid, entry);
  }

  /**
   * Over the bound, an eighth of the table goes at once: exited processes first, then the oldest
   * inserted. One pass per eighth instead of one per new process, which walked the whole table (and
   * every deleted slot V8 keeps at its front) each time.
   */
  private evict(): void {
    let n = Math.max(1, this.maxEntries >> 3);
    for (const [pid, e] of this.entries) {
      if (e.exitedAt === null) continue;
      this.entries.delete(pid);
      if (--n === 0) return;
    }
    for (const pid of this.entries.keys()) {
      this.entries.delete(pid);
      if (--n === 0) return;
    }
  }

  private fromInfo(info: ProcInfo, cgroupId: number): Entry {
    const { argv, truncated } = capArgv(info.argv);
    return {
      pid: info.pid,
      ppid: info.ppid,
      uid: info.uid,
      gid: info.gid,
      comm: info.comm,
      exe: info.exe,
      argv,
      argvTruncated: truncated,
      ...(info.cwd !== undefined ? { cwd: info.cwd } : {}),
      cgroupId,
      cgroup: info.cgroup,
      startTs: info.startTs,
      exitedAt: null,
      ktime: 0,
      life: { exited: false },
    };
  }
}
