import { z } from 'zod';
import { Comm, Ns, recordUnion, U32, U64 } from './records.js';

/** Records of probes/proc.bt (see its header). */
export const ForkRecord = z.tuple([z.literal(10), Ns, U32, U32, U32, U64, Comm]);
export const ExitRecord = z.tuple([z.literal(11), Ns, U32, z.number().int(), Comm]);
export const ProcRecord = recordUnion(ForkRecord, ExitRecord);

export type ProcDecoded =
  | { type: 'proc.fork'; ns: number; ppid: number; pid: number; uid: number; cgroupId: number; comm: string }
  | { type: 'proc.exit'; ns: number; pid: number; code: number | null; signal: number | null; comm: string };

export function decodeProc(data: unknown[]): z.SafeParseReturnType<unknown, ProcDecoded> {
  const r = ProcRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  if (t[0] === 10) {
    return { success: true, data: { type: 'proc.fork', ns: t[1], ppid: t[2], pid: t[3], uid: t[4], cgroupId: t[5], comm: t[6] } };
  }
  // task->exit_code is a wait status: low 7 bits the killing signal, else the code in bits 8..15.
  const status = t[3];
  const signal = status & 0x7f;
  return {
    success: true,
    data: {
      type: 'proc.exit', ns: t[1], pid: t[2], comm: t[4],
      code: signal === 0 ? (status >> 8) & 0xff : null,
      signal: signal === 0 ? null : signal,
    },
  };
}
