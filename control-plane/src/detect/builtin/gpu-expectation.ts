import { posix } from 'node:path';
import type { AncestorV1, GpuEventV1, Severity } from '@vigil/schema';
import type { DetectionContext } from '../define.js';
import { basename, exeOf, inWritablePlace } from '../argv.js';
import { JOB_LAUNCHERS, SHELLS } from '../indicators.js';
import { INSTALLED_GPU_PATHS, matchesAny } from './gpu.js';
import { builtHere, hostRunsJobs, placedHere, seenBeforeJob } from './gpu-provenance.js';
import { droppedHow, isLoopback } from './miner-signals.js';
import { execOf, stdioFd } from './behaviour.js';

/** A Python interpreter by name: python, python3, python3.11. */
const PYTHON = /^python[\d.]*$/;

/**
 * Where Python environment managers put interpreters: venvs, conda (envs and base), pyenv, uv's
 * managed builds (what a uv venv's bin/python3 links to). Python only: other binaries there are not.
 */
const ENV_BIN =
  /\/(?:\.?venv|env|\.virtualenvs\/[^/]+|envs\/[^/]+|(?:mini|ana)conda3?|miniforge3|mambaforge|\.conda|\.pyenv\/versions\/[^/]+|\.local\/share\/uv\/python\/[^/]+|\.rye\/py\/[^/]+)\/bin\/([^/]+)$/;
/**
 * The executable as a path: a program started by a relative path (`./train_gpt2` from `make`'s
 * folder) is reported as it was named; against the process's cwd it is the file a build wrote, and
 * the file whose place (scratch, a user's folder) the rules judge.
 */
export const absoluteExe = (exe: string, cwd: string | null | undefined): string =>
  exe.startsWith('/') || !exe.includes('/') || !cwd ? exe : posix.resolve(cwd, exe);

/** Scratch places no environment is installed in. */
const SCRATCH = /^\/(?:tmp|var\/tmp|dev\/shm|run\/user)\//;

/** The verdict on a process that starts GPU compute: which rule of expectation failed, ranked; null = expected. */
export interface Unexpected {
  rule: string;
  severity: Severity;
  why: string;
}

/** A Python interpreter installed on the system or by an environment manager (not in a scratch place). */
export function envInterpreter(exe: string): boolean {
  if (!PYTHON.test(basename(exe)) || SCRATCH.test(exe)) return false;
  return ENV_BIN.test(exe) || (matchesAny(INSTALLED_GPU_PATHS, exe) && !inWritablePlace(exe));
}

export const isPython = (a: AncestorV1) => PYTHON.test(a.comm) || PYTHON.test(basename(a.exe));
const isLauncher = (a: AncestorV1) => JOB_LAUNCHERS.includes(a.comm) || JOB_LAUNCHERS.includes(basename(a.exe));

/** An ancestor that is a shell by name, or by content: a copy of the host's bash under another name. */
function isShell(a: AncestorV1, ev: GpuEventV1, ctx: DetectionContext): boolean {
  if (SHELLS.includes(a.comm) || SHELLS.includes(basename(a.exe))) return true;
  const tool = ctx.toolOf(ev.host, { ...ev.proc, pid: a.pid, exe: a.exe, exeHash: undefined });
  return tool !== undefined && SHELLS.includes(tool);
}

/**
 * An agent's tool call: the nearest shell in the ancestry was spawned by a Python interpreter that is
 * the job's (the process is in a job, or a launcher is above that interpreter). A batch script's shell
 * under slurmstepd is not one: no interpreter sits between it and the launcher.
 */
export function toolCallShell(
  ev: GpuEventV1,
  ctx: DetectionContext,
): { shell: AncestorV1; python: AncestorV1; inJob: boolean; launcher: AncestorV1 | undefined } | undefined {
  const anc = ev.proc.ancestry;
  const at = anc.findIndex((a) => isShell(a, ev, ctx));
  if (at < 0) return undefined;
  const python = anc[at + 1];
  if (!python || !isPython(python)) return undefined;
  return {
    shell: anc[at]!,
    python,
    inJob: !!ev.proc.job || anc.slice(at + 2).some(isLauncher),
    // A launcher between the shell and the process: the shell started the job's launcher (`sh -c torchrun …`).
    launcher: anc.slice(0, at).find(isLauncher),
  };
}

/**
 * What makes a tool-call shell ordinary work rather than an agent's step: it started a launcher that
 * started the process, or it is a person's terminal (its stdin a tty: a notebook's terminal, not a
 * subprocess pipe). Null when neither; only for a process that is the environment's own interpreter.
 */
function ordinaryShellStart(
  ev: GpuEventV1,
  ctx: DetectionContext,
  tool: NonNullable<ReturnType<typeof toolCallShell>>,
): string | null {
  if (tool.launcher)
    return `the shell started the launcher ${tool.launcher.comm} (pid ${tool.launcher.pid}) that started it`;
  const shellExec = execOf(ctx.recent(ev.host, tool.shell.pid));
  if (shellExec && stdioFd(shellExec, 0)?.type === 'tty')
    return `the shell reads a terminal (fd 0 is a tty): a person's session`;
  return null;
}

/** What the process did on the network beyond loopback, or the miner rules already said of it. */
function networkOf(ev: GpuEventV1, ctx: DetectionContext): string | null {
  const flags = [...ctx.flagged(ev.host, ev.proc.pid)].filter((r) => r.startsWith('miner.'));
  if (flags.length) return `it was flagged by ${flags.join(', ')}`;
  for (const e of ctx.recent(ev.host, ev.proc.pid)) {
    if (e.kind === 'connect' && !isLoopback(e.connect.daddr))
      return `it connected to ${e.connect.daddr}:${e.connect.dport}`;
    if (e.kind === 'conn' && e.conn.direction === 'out' && !isLoopback(e.conn.remote.addr))
      return `it connected to ${e.conn.remote.addr}:${e.conn.remote.port}`;
  }
  return null;
}

/** The non-python binary in a Python environment's bin directory, if it is one. */
const envNonPython = (exe: string): boolean => {
  const m = ENV_BIN.exec(exe);
  return m !== null && !PYTHON.test(m[1]!);
};

/**
 * Whether a process starting GPU compute is expected, by the job and the binary's provenance rather
 * than its path. The rules, in order: configured globs win; fileless never is; a shell the job's
 * interpreter spawned (a tool call) is not the job; a dropped or writable-place binary is not, unless
 * a compiler on this host built it; a non-python binary in a Python environment is not; a just-written
 * /usr/local binary is not; a binary first seen in this job is not; outside any job on a job host is
 * not. What the job's launcher started (its interpreters, its workers, installed software) is.
 */
export function judgeGpuCompute(ev: GpuEventV1, ctx: DetectionContext): Unexpected | null {
  const named = exeOf(ev);
  const exe = absoluteExe(named, ev.proc.cwd);
  // A relative start whose cwd the sensor read late or not at all: the build is found by name too.
  const built = () => builtHere(ctx, ev.host, exe) ?? builtHere(ctx, ev.host, named);
  const { expectedGpu } = ctx.config;
  if (matchesAny(expectedGpu.exe, exe) || matchesAny(expectedGpu.cgroup, ev.proc.cgroup)) return null;
  const fileless = ev.proc.fileless === true || /^\/memfd:| \(deleted\)$/.test(exe);
  const interpreter = !fileless && envInterpreter(exe);
  // Dropped means written where the workload can write: a just-written file in a root-owned directory
  // is a package install unless it is /usr/local or /opt (below).
  const writablePlace = ev.proc.exeInWritableDir === true || inWritablePlace(exe);
  const dropped = fileless || (!interpreter && writablePlace) ? droppedHow(exe, ev.proc) : null;
  const tool = toolCallShell(ev, ctx);
  if (tool) {
    const net = networkOf(ev, ctx);
    const also = [dropped, net].filter(Boolean);
    // The environment's own interpreter under a launcher or a terminal is how people start training
    // from a notebook or a wrapper: still reported, as context, unless something else corroborates.
    const ordinary = !also.length && interpreter ? ordinaryShellStart(ev, ctx, tool) : null;
    const under = `it runs under ${tool.shell.comm} (pid ${tool.shell.pid}) spawned by ${tool.inJob ? "the job's " : ''}${tool.python.comm} (pid ${tool.python.pid})`;
    if (ordinary)
      return {
        rule: tool.inJob ? 'started by a shell the job spawned' : 'started by a shell a python process spawned',
        severity: 'medium',
        why: `${under}, but ${ordinary}, and it is the environment's own interpreter`,
      };
    // Outside a scheduler job a python driving shells is also a research pipeline's stage runner:
    // medium there unless the process is also dropped or on the network.
    return {
      rule: tool.inJob ? 'started by a shell the job spawned' : 'started by a shell a python process spawned',
      severity: also.length ? 'critical' : tool.inJob ? 'high' : 'medium',
      why: `${under}: ${tool.inJob ? "an agent's tool call, not the job's launcher" : "an agent's tool call or a script's subprocess, not a launcher"}${also.length ? `; ${also.join('; ')}` : ''}`,
    };
  }
  if (fileless) return { rule: 'fileless binary', severity: 'critical', why: dropped! };
  if (dropped) {
    const build = built();
    if (build)
      return {
        rule: 'binary built on this host',
        severity: 'low',
        why: `${dropped}, but ${build.compiler} (pid ${build.pid}) built it here (\`${build.argv.slice(0, 8).join(' ')}\`)`,
      };
    // A user-owned directory alone (a checkout, ~/bin) ranks below a dropped or scratch-place binary.
    const strong = ev.proc.exeRecentlyWritten === true || inWritablePlace(exe);
    if (strong || seenBeforeJob(ctx, ev) !== true)
      return { rule: 'dropped or writable-place binary', severity: strong ? 'critical' : 'high', why: dropped };
  }
  const placed = interpreter ? undefined : placedHere(ctx, ev.host, exe);
  if (placed) {
    const build = builtHere(ctx, ev.host, placed.source);
    const how = `${placed.tool} (pid ${placed.pid}) copied it from ${placed.source} before it ran (\`${placed.argv.slice(0, 8).join(' ')}\`)`;
    if (build)
      return {
        rule: 'binary built on this host',
        severity: 'low',
        why: `${how}, and ${build.compiler} (pid ${build.pid}) built that here`,
      };
    return {
      rule: 'binary copied into place, then run',
      severity: inWritablePlace(placed.source) || inWritablePlace(exe) ? 'critical' : 'high',
      why: how,
    };
  }
  if (!interpreter && envNonPython(exe))
    return {
      rule: 'non-python binary in a Python environment',
      severity: 'high',
      why: `${basename(exe)} sits in a venv/conda bin directory, where only the interpreter is expected to use the GPU`,
    };
  if (ev.proc.exeRecentlyWritten && !interpreter && /^\/(?:usr\/local|opt)\//.test(exe))
    return {
      rule: 'just-written binary in /usr/local or /opt',
      severity: 'high',
      why: `its file was written just before it ran, outside the package manager's directories`,
    };
  const installed = interpreter || (matchesAny(INSTALLED_GPU_PATHS, exe) && !inWritablePlace(exe));
  const seen = seenBeforeJob(ctx, ev);
  if (!installed && seen !== true) {
    // A trainer compiled here (llm.c's `make train_gpt2cu`) is new to the host by construction.
    const build = built();
    if (build)
      return {
        rule: 'binary built on this host',
        severity: 'low',
        why: `its content is new to this host, and ${build.compiler} (pid ${build.pid}) built it here (\`${build.argv.slice(0, 8).join(' ')}\`)`,
      };
    return {
      rule: 'not installed software, not seen before the job',
      severity: 'high',
      why:
        seen === false
          ? `its content (hash) was first seen on this host in ${ev.proc.job ?? 'this process tree'}`
          : 'it is not installed software (outside the system prefixes and Python environments) and its hash is not known from before',
    };
  }
  if (!ev.proc.job && !ev.proc.ancestry.some(isLauncher) && hostRunsJobs(ctx, ev.host))
    return {
      rule: 'outside any job on a job host',
      severity: 'medium',
      why: 'it belongs to no scheduler job while this host runs jobs',
    };
  return null;
}
