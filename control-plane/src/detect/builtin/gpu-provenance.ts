import { posix } from 'node:path';
import type { EventV1 } from '@vigil/schema';
import type { DetectionContext } from '../define.js';
import { basename } from '../argv.js';
import { COMPILERS, DOWNLOADERS, PLACERS } from '../indicators.js';

/** Bounds of what is kept per host: enough for a build tree and a host's binaries, never unbounded. */
const MAX_BUILDS = 4096;
const MAX_HASHES = 65_536;

/** A binary a compiler or linker on this host wrote (`nvcc … -o train_gpt2cu`). */
export interface Build {
  compiler: string;
  pid: number;
  argv: string[];
  eventId: string;
}

/** A file a copying tool wrote (`cp /tmp/x /usr/local/bin/nvidia-fabricmanagerd`). */
export interface Placement {
  tool: string;
  pid: number;
  argv: string[];
  /** The file it was copied from. */
  source: string;
  eventId: string;
}

interface HostFacts {
  /** Destination path -> the copy that wrote it (the last one). */
  placed: Map<string, Placement>;
  /** Output path (resolved against the compiler's cwd when known) -> the build that wrote it. */
  builds: Map<string, Build>;
  /** Output basenames of builds whose cwd was not known. */
  buildNames: Map<string, Build>;
  /** Paths and basenames a downloader named after any build of them: downloaded, not built. */
  downloaded: Set<string>;
  /** Executable hash -> the job (or "" outside any) of the first process seen running it. */
  firstSeen: Map<string, string>;
  /** Some process on this host belongs to a job: a host where jobs run. */
  runsJobs: boolean;
}

/**
 * What the GPU rule learns about a host from the events it sees: the binaries built here, the job each
 * executable was first seen in, whether jobs run here. Kept per engine (its context), bounded per host.
 */
const facts = new WeakMap<DetectionContext, Map<string, HostFacts>>();

function hostFacts(ctx: DetectionContext, host: string): HostFacts {
  let hosts = facts.get(ctx);
  if (!hosts) facts.set(ctx, (hosts = new Map()));
  let f = hosts.get(host);
  if (!f)
    hosts.set(
      host,
      (f = {
        placed: new Map(),
        builds: new Map(),
        buildNames: new Map(),
        downloaded: new Set(),
        firstSeen: new Map(),
        runsJobs: false,
      }),
    );
  return f;
}

const put = <V>(map: Map<string, V>, key: string, value: V, max: number) => {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
};

/**
 * Where a cp/install/mv command line writes, with the source of each: `cp A B` writes B (or B/A when
 * B is a directory: both are kept, the command line cannot tell), `cp A B DIR/` and `-t DIR A B`
 * write into DIR. Relative paths resolve against the cwd when known.
 */
export function placementsOf(argv: readonly string[], cwd: string | undefined): [string, string][] {
  const abs = (p: string) => (p.startsWith('/') ? posix.normalize(p) : cwd ? posix.resolve(cwd, p) : null);
  const args: string[] = [];
  let targetDir: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-t' || a === '--target-directory') targetDir = argv[++i];
    else if (a.startsWith('--target-directory=')) targetDir = a.slice(19);
    else if (a === '-m' || a === '--mode' || a === '-o' || a === '-g' || a === '--owner' || a === '--group') i++;
    else if (!a.startsWith('-')) args.push(a);
  }
  const out: [string, string][] = [];
  const into = (dir: string, sources: string[]) => {
    for (const src of sources) {
      const d = abs(posix.join(dir, basename(src)));
      const s = abs(src);
      if (d && s) out.push([d, s]);
    }
  };
  if (targetDir !== undefined) into(targetDir, args);
  else if (args.length === 2) {
    const d = abs(args[1]!);
    const s = abs(args[0]!);
    if (d && s) out.push([d, s]);
    into(args[1]!, [args[0]!]);
  } else if (args.length > 2) into(args.at(-1)!, args.slice(0, -1));
  return out.slice(0, 64);
}

/** The copy on this host that last wrote `exe`, if one was seen. */
export function placedHere(ctx: DetectionContext, host: string, exe: string): Placement | undefined {
  return hostFacts(ctx, host).placed.get(exe);
}

/** The output a compiler or linker command line names (`-o X`, `-oX`, `--output-file[=]X`). */
export function outputOf(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o' || a === '--output-file' || a === '--output') return argv[i + 1];
    const m = /^(?:-o|--output-file=|--output=)(.+)$/.exec(a);
    if (m) return m[1];
  }
  return undefined;
}

/** A compiler's name without a target prefix or version suffix: x86_64-linux-gnu-gcc-13 -> gcc. */
export const compilerName = (name: string): string =>
  /(?:^|-)(gcc|g\+\+|cc|c\+\+|clang\+\+|clang|ld(?:\.\w+)?|nvcc)(?:-\d+(?:\.\d+)*)?$/.exec(name)?.[1] ?? name;

/** The job a process belongs to: the scheduler's, else "" (outside any). */
export const jobOf = (ev: EventV1): string => ev.proc.job ?? '';

/** Learns from one event (any kind the GPU rule is handed). */
export function observe(ctx: DetectionContext, ev: EventV1): void {
  const f = hostFacts(ctx, ev.host);
  if (ev.proc.job) f.runsJobs = true;
  const hash = ev.kind === 'exe' ? ev.exe.sha256 : ev.proc.exeHash;
  if (hash && !f.firstSeen.has(hash))
    put(f.firstSeen, hash, ev.kind === 'exe' && ev.exe.reference ? '(reference)' : jobOf(ev), MAX_HASHES);
  if (ev.kind !== 'exec' || (ev.exec.ret !== null && ev.exec.ret !== 0)) return;
  const tool = basename(ev.exec.filename);
  if (PLACERS.includes(tool)) {
    for (const [dest, source] of placementsOf(ev.exec.argv, ev.proc.cwd))
      put(f.placed, dest, { tool, pid: ev.proc.pid, argv: ev.exec.argv, source, eventId: ev.id }, MAX_BUILDS);
    return;
  }
  if (DOWNLOADERS.includes(tool)) {
    // A file a downloader names is not what a compiler built, whatever a build said before.
    for (const arg of ev.exec.argv.slice(1)) {
      if (arg.startsWith('-') || arg.includes('://')) continue;
      const path = arg.startsWith('/') ? posix.normalize(arg) : ev.proc.cwd ? posix.resolve(ev.proc.cwd, arg) : null;
      for (const key of [path, basename(arg)]) {
        if (key && (f.builds.has(key) || f.buildNames.has(key))) {
          f.downloaded.add(key);
          if (f.downloaded.size > MAX_BUILDS) f.downloaded.delete(f.downloaded.values().next().value!);
        }
      }
    }
    return;
  }
  const compiler = compilerName(tool);
  if (!COMPILERS.includes(compiler)) return;
  const out = outputOf(ev.exec.argv);
  if (!out || out === '/dev/null' || /\.(?:o|obj|a|so|ptx|cubin|fatbin|ii|i|s)$/.test(out)) return;
  const build: Build = { compiler, pid: ev.proc.pid, argv: ev.exec.argv, eventId: ev.id };
  const path = out.startsWith('/') ? posix.normalize(out) : ev.proc.cwd ? posix.resolve(ev.proc.cwd, out) : null;
  const key = path ?? basename(out);
  put(path ? f.builds : f.buildNames, key, build, MAX_BUILDS);
  f.downloaded.delete(key);
}

/** The build on this host that wrote `exe`, if one was seen. */
export function builtHere(ctx: DetectionContext, host: string, exe: string): Build | undefined {
  const f = hostFacts(ctx, host);
  const name = basename(exe);
  if (f.downloaded.has(exe) || f.downloaded.has(name)) return undefined;
  const hit = f.builds.get(exe) ?? f.buildNames.get(name);
  if (hit || exe.startsWith('/')) return hit;
  // Started by a relative path (`./train_gpt2`) with no cwd to resolve it: the newest build of that name.
  let newest: Build | undefined;
  for (const [path, b] of f.builds) if (basename(path) === name) newest = b;
  return newest;
}

/**
 * Whether this executable (by hash) was seen on the host before this job: run outside it or in
 * another job, or reported as the host's own copy of a tool. Undefined when its hash is unknown.
 */
export function seenBeforeJob(ctx: DetectionContext, ev: EventV1): boolean | undefined {
  const hash = ctx.exeHash(ev.host, ev.proc);
  if (!hash) return undefined;
  const first = hostFacts(ctx, ev.host).firstSeen.get(hash);
  if (first === undefined) return false;
  return first !== jobOf(ev) || ctx.toolOf(ev.host, ev.proc) !== undefined;
}

export const hostRunsJobs = (ctx: DetectionContext, host: string): boolean => hostFacts(ctx, host).runsJobs;
