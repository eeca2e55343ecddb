import { defineDetection, type ExpectedGpuConfig } from '../define.js';
import { exeOf, inWritablePlace } from '../argv.js';
import { SHELLS } from '../indicators.js';
import type { GpuEventV1 } from '@vigil/schema';

/** RM classes and calls that mean "about to run kernels on the GPU". */
const COMPUTE_CLASS = /_(COMPUTE|CHANNEL_GPFIFO)_[A-Z]$|CHANNEL_GROUP/;
const COMPUTE_CALLS = new Set(['KFD_CREATE_QUEUE', 'UVM_REGISTER_CHANNEL']);

/** Nodes of one GPU (not the control or UVM nodes every CUDA process opens): they say which GPU. */
const GPU_NODE = /^\/dev\/(nvidia\d+|dri\/renderD\d+)$/;

/** The GPUs a process used, as their device nodes, for the alert's story. */
export function gpusUsed(ev: GpuEventV1, devices: ReadonlySet<string>): string[] {
  return [...new Set([ev.gpu.device, ...devices])].filter((d) => GPU_NODE.test(d));
}

export function startsCompute(ev: GpuEventV1): string | null {
  if (ev.gpu.rmClassName && COMPUTE_CLASS.test(ev.gpu.rmClassName))
    return `allocated ${ev.gpu.rmClassName} on ${ev.gpu.device}`;
  if (COMPUTE_CALLS.has(ev.gpu.name)) return `${ev.gpu.name} on ${ev.gpu.device}`;
  return null;
}

/** Glob with * (one path segment) and ** (any depth). */
export function globToRegExp(glob: string): RegExp {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*/g, '\u0000')
    .replace(/\*/g, '[^/]*')
    .replace(/\u0000/g, '.*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/**
 * Installed software is expected to use GPUs: system prefixes, and python from a venv or conda env.
 * The operator's configuration (exe and cgroup globs) is expected outright, wherever it lives.
 */
export const INSTALLED_GPU_PATHS = [
  '/usr/**',
  '/opt/**',
  '/bin/**',
  '/sbin/**',
  '/lib/**',
  '/snap/**',
  '**/bin/python',
  '**/bin/python3*',
  '**/envs/*/bin/*',
];

export const EMPTY_EXPECTED_GPU: ExpectedGpuConfig = { exe: [], cgroup: [] };

/** Globs are compiled once: they are matched on every GPU compute call. */
const compiled = new Map<string, RegExp>();
const globRe = (g: string): RegExp => {
  let re = compiled.get(g);
  if (!re) compiled.set(g, (re = globToRegExp(g)));
  return re;
};
const matchesAny = (globs: string[], value: string) => globs.some((g) => globRe(g).test(value));

/** Processes a training job runs that may spawn shells; a shell below one of them is the job's. */
const JOB_PROCESS = /^(python[\d.]*|torchrun|deepspeed|accelerate|srun|slurmstepd|mpirun|horovodrun)$/;

/** The nearest shell in the ancestry that was itself started under a job process, if any. */
export function shellSpawnedByJob(
  ancestry: { comm: string; pid: number }[],
): { comm: string; pid: number } | undefined {
  const i = ancestry.findIndex((a) => SHELLS.includes(a.comm));
  if (i < 0) return undefined;
  return ancestry.slice(i + 1).some((a) => JOB_PROCESS.test(a.comm)) ? ancestry[i] : undefined;
}

/** Whether a process is an expected GPU user: configured, or installed software outside writable places. */
export function expectedGpuProcess(exe: string, cgroup: string, cfg: ExpectedGpuConfig): boolean {
  if (matchesAny(cfg.exe, exe) || matchesAny(cfg.cgroup, cgroup)) return true;
  return matchesAny(INSTALLED_GPU_PATHS, exe) && !inWritablePlace(exe);
}

export const gpuUnexpectedProcess = defineDetection({
  id: 'gpu.unexpected-process',
  title: 'GPU compute by an unexpected process',
  severity: 'high',
  mitre: ['T1496'],
  on: ['gpu'],
  description:
    'A process that is not an expected training workload starts GPU compute (compute class, channel, KFD queue).',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical when it runs from a writable place or under a shell the job spawned',
  },
  match(ev, ctx) {
    const what = startsCompute(ev);
    if (!what) return null;
    const exe = exeOf(ev);
    if (expectedGpuProcess(exe, ev.proc.cgroup, ctx.config.expectedGpu)) return null;
    const writable = inWritablePlace(exe);
    const shell = shellSpawnedByJob(ev.proc.ancestry);
    const gpus = gpusUsed(ev, ctx.gpuDevices(ev.host, ev.proc.pid));
    const notes = [
      gpus.length > 0 ? `GPU ${gpus.join(', ')}` : null,
      writable ? 'it runs from a writable place' : 'it is not an expected GPU workload',
      shell ? `it runs under a shell (${shell.comm}, pid ${shell.pid}) spawned by the job` : null,
    ].filter(Boolean);
    return {
      reason: `${exe || ev.proc.comm} (pid ${ev.proc.pid}) ${what}: ${notes.join('; ')}`,
      severity: writable || shell ? 'critical' : 'high',
    };
  },
});

const EXPECTED_PROFILERS = ['nsys', 'ncu', 'cuda-gdb', 'nv-nsight-cu-cli', 'dcgmi', 'nv-hostengine'];

export const gpuForeignMemoryAccess = defineDetection({
  id: 'gpu.foreign-memory-access',
  title: 'GPU memory of another process read or written',
  severity: 'high',
  mitre: ['T1005', 'T1055'],
  on: ['gpu'],
  description: "UVM tools calls that read or write another process's GPU memory, by anything but a known profiler.",
  match(ev) {
    if (ev.gpu.name !== 'UVM_TOOLS_READ_PROCESS_MEMORY' && ev.gpu.name !== 'UVM_TOOLS_WRITE_PROCESS_MEMORY')
      return null;
    if (EXPECTED_PROFILERS.includes(ev.proc.comm)) return null;
    return {
      reason: `${exeOf(ev) || ev.proc.comm} (pid ${ev.proc.pid}) called ${ev.gpu.name} on ${ev.gpu.device}${ev.gpu.count > 1 ? ` ${ev.gpu.count} times` : ''}`,
    };
  },
});
