import { fileURLToPath } from 'node:url';
import type { DecodeResult } from '../decode/records.js';
import { decodeExec, decodeExecBatch, type BatchDecoded, type Maps } from '../decode/exec.js';
import { decodeProc, decodeProcBatch } from '../decode/proc.js';
import { decodeConnect } from '../decode/connect.js';
import { decodeGpu } from '../decode/gpu.js';
import { decodeDns } from '../decode/dns.js';
import { decodeTcp } from '../decode/tcp.js';
import type { DecodedRecord } from '../assemble/event-builder.js';
import { RECORD, recordTypes } from './records.js';
import { NO_MAJOR, type GpuDeviceMap } from '../gpu/devices.js';
import { PROBE_NAMES, type ProbeName } from './names.js';

/** The repository's probes/ folder, found from this module (sensor/dist/probes/registry.js). */
export const DEFAULT_PROBES_DIR = fileURLToPath(new URL('../../../probes/', import.meta.url));

/**
 * The file under probes/ that every bpftrace program starts with, once: the ready record from BEGIN
 * and the wake record on a stop signal (see compose.ts).
 */
export const PRELUDE_SCRIPT = 'prelude.bt';

/** bpftrace 0.17's largest string; the exec probe's arguments are cut one byte short of it. */
export const BPFTRACE_STRLEN = 200;

/**
 * How often the exec and proc probes print the maps they buffer in (ms; a multiple of their 10 ms
 * tick, and each print comes a tick after the flip that closes the maps). Shorter costs wakeups in a
 * storm, longer delays every exec on its way to a detection.
 */
export const FLUSH_MS = 50;
/**
 * The longest the sensor holds a record for the exec and fork records before it: whatever a probe
 * writes is printed within FLUSH_MS and a tick, so after this nothing older can still be in its maps.
 */
export const HOLD_MS = 3 * FLUSH_MS;

export interface ProbeContext {
  windowSeconds: number;
  devices: GpuDeviceMap;
}

export interface ProbeSpec {
  /** File under probes/. */
  script: string;
  args: (ctx: ProbeContext) => string[];
  env: Record<string, string>;
  decode: (data: unknown[]) => DecodeResult<DecodedRecord>;
  /** Field 0 of its value records (the record types it prints besides the prelude's, see records.ts). */
  recordTypes: readonly number[];
  /** Prefix of the window maps it prints, if it aggregates in the kernel. */
  window?: 'connect' | 'gpu' | 'tcp';
  /** Window maps besides count, first and last (printed between first and last). */
  windowExtras?: readonly string[];
  /**
   * If it buffers its records in kernel maps: their prefix, the end-of-flush record type, and the
   * decoder of one flush's maps (by name without the epoch suffix), given the flush before it.
   */
  batch?: {
    prefix: 'exec' | 'proc';
    flushType: number;
    decode: (maps: Maps, prev?: Maps) => BatchDecoded<DecodedRecord>;
  };
  /** Why it should not run on this host, or null. */
  skipReason?: (ctx: ProbeContext) => string | null;
}

/**
 * Entries per map. The exec maps hold 200-byte strings and are preallocated by the kernel, twice
 * (two epochs): 16384 keeps them near 10 MiB of kernel memory and still holds 300k entries a second
 * at FLUSH_MS. A full connect or GPU first-seen map makes every later call print (none goes unseen).
 */
const MAP_ENV = { BPFTRACE_MAP_KEYS_MAX: '16384' };
/**
 * glibc malloc for bpftrace: compiling a program with LLVM allocates large blocks that stay resident
 * after it is freed; from mmap (not the heap) they go back to the kernel.
 */
export const BPFTRACE_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_ARENA_MAX: '2' };

export const PROBES = {
  exec: {
    script: 'exec.bt',
    args: () => [String(FLUSH_MS)],
    env: { BPFTRACE_STRLEN: String(BPFTRACE_STRLEN), ...MAP_ENV },
    decode: decodeExec,
    recordTypes: recordTypes('exec'),
    batch: {
      prefix: 'exec',
      flushType: RECORD.exec.flush,
      decode: (maps: Maps, prev?: Maps) => decodeExecBatch(maps, BPFTRACE_STRLEN - 1, prev),
    },
  },
  proc: {
    script: 'proc.bt',
    args: () => [String(FLUSH_MS)],
    env: { ...MAP_ENV },
    decode: decodeProc,
    recordTypes: recordTypes('proc'),
    batch: { prefix: 'proc', flushType: RECORD.proc.flush, decode: decodeProcBatch },
  },
  connect: {
    script: 'connect.bt',
    args: (ctx) => [String(ctx.windowSeconds)],
    env: { ...MAP_ENV },
    decode: decodeConnect,
    recordTypes: recordTypes('connect'),
    window: 'connect',
  },
  gpu: {
    script: 'gpu.bt',
    args: (ctx) => {
      const m = ctx.devices.majors;
      const extra = ctx.devices.extraRdevs().slice(0, 4);
      while (extra.length < 4) extra.push(0);
      return [
        String(ctx.windowSeconds),
        String(m.nvidia),
        String(m.nvidiaUvm),
        String(m.kfd),
        String(m.drm),
        ...extra.map(String),
      ];
    },
    env: { ...MAP_ENV },
    decode: decodeGpu,
    recordTypes: recordTypes('gpu'),
    window: 'gpu',
    skipReason: (ctx) => {
      const m = ctx.devices.majors;
      const none = [m.nvidia, m.nvidiaUvm, m.kfd, m.drm].every((x) => x === NO_MAJOR);
      return none && ctx.devices.extraRdevs().length === 0
        ? 'no GPU driver in /proc/devices (nvidia, nvidia-uvm, kfd, drm) and no --gpu-device given'
        : null;
    },
  },
  dns: {
    script: 'dns.bt',
    args: () => [],
    // Its records carry a buf() of bpftrace's string size: the exec probe's, as the composed program shares it.
    env: { BPFTRACE_STRLEN: String(BPFTRACE_STRLEN), ...MAP_ENV },
    decode: decodeDns,
    recordTypes: recordTypes('dns'),
  },
  tcp: {
    script: 'tcp.bt',
    args: (ctx) => [String(ctx.windowSeconds)],
    env: { ...MAP_ENV },
    decode: decodeTcp,
    recordTypes: recordTypes('tcp'),
    window: 'tcp',
    windowExtras: ['dmax', 'dsum'],
  },
} as const satisfies Record<ProbeName, ProbeSpec>;

export { PROBE_NAMES, type ProbeName };
/**
 * What runs unless `--probe` names probes. dns is asked for by name: it runs on every read and write
 * exit on the host, and a loop of 1-byte reads and writes took 4.6 times as long with it (2.9 s
 * against 0.63 s for a million of each, docs/probes/dns.md), too much for a data loader's I/O.
 */
export const DEFAULT_PROBES: ProbeName[] = PROBE_NAMES.filter((n) => n !== 'dns');
