import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, Ns, U32, U64, type DecodeResult } from './records.js';
import { parseNumericMapKey } from './bpftrace-output.js';

/** Records of probes/gpu.bt (see its header). */
export const GpuRecord = z.tuple([z.literal(RECORD.gpu.first), Ns, U32, U32, U32, U64, Comm, U64, U32, U32, U32]);

export interface GpuCall {
  pid: number;
  rdev: number;
  request: number;
  /** The request wrapped in IOCTL_XFER_CMD, or null. */
  inner: number | null;
  /** RM_ALLOC class or RM_CONTROL command read from the argument, 0 when none. */
  obj: number;
}

export type GpuDecoded = {
  type: 'gpu.first';
  ns: number;
  tid: number;
  uid: number;
  cgroupId: number;
  comm: string;
} & GpuCall;

export function decodeGpu(data: unknown[]): DecodeResult<GpuDecoded> {
  const r = GpuRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  return {
    success: true,
    data: {
      type: 'gpu.first',
      ns: t[1],
      pid: t[2],
      tid: t[3],
      uid: t[4],
      cgroupId: t[5],
      comm: t[6],
      rdev: t[7],
      request: t[8],
      inner: t[9] === 0 ? null : t[9],
      obj: t[10],
    },
  };
}

/** A window key of @gpu_count / @gpu_first / @gpu_last: "pid,rdev,request,inner,obj". */
export function decodeGpuKey(key: string): GpuCall | null {
  const k = parseNumericMapKey(key, 5);
  if (!k) return null;
  const [pid, rdev, request, inner, obj] = k as [number, number, number, number, number];
  return { pid, rdev, request, inner: inner === 0 ? null : inner, obj };
}
