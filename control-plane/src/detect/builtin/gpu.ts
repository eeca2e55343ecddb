/** What GPU ioctls mean (compute starts, which GPU) and the path globs the GPU rules share. */
import type { ExpectedGpuConfig } from '../define.js';
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
 * System prefixes: software installed there is known to the host before any job (a just-written file
 * in /usr/local or /opt aside, see gpu-expectation.ts). Python environments are judged by layout there.
 */
export const INSTALLED_GPU_PATHS = ['/usr/**', '/opt/**', '/bin/**', '/sbin/**', '/lib/**', '/snap/**'];

export const EMPTY_EXPECTED_GPU: ExpectedGpuConfig = { exe: [], cgroup: [] };

/** Globs are compiled once: they are matched on every GPU compute call. */
const compiled = new Map<string, RegExp>();
const globRe = (g: string): RegExp => {
  let re = compiled.get(g);
  if (!re) compiled.set(g, (re = globToRegExp(g)));
  return re;
};
export const matchesAny = (globs: string[], value: string) => globs.some((g) => globRe(g).test(value));
