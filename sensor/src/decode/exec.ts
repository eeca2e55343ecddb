import { z } from 'zod';
import { Comm, I64, Ns, recordUnion, U32, U64 } from './records.js';

/** Records of probes/exec.bt (see its header). */
export const ExecArgRecord = z.tuple([z.literal(1), Ns, U32, U32, z.string()]);
export const ExecHeaderRecord = z.tuple([z.literal(2), Ns, U32, U32, U32, U32, U32, U64, Comm, z.union([z.literal(0), z.literal(1)])]);
export const ExecReturnRecord = z.tuple([z.literal(3), Ns, U32, I64, Comm]);
export const ExecFilenameRecord = z.tuple([z.literal(4), Ns, U32, z.string()]);

export const ExecRecord = recordUnion(ExecArgRecord, ExecHeaderRecord, ExecReturnRecord, ExecFilenameRecord);

export type ExecDecoded =
  | { type: 'exec.arg'; ns: number; pid: number; idx: number; arg: string }
  | { type: 'exec.filename'; ns: number; pid: number; filename: string }
  | {
      type: 'exec.enter';
      ns: number;
      pid: number;
      tid: number;
      ppid: number;
      uid: number;
      gid: number;
      cgroupId: number;
      comm: string;
      moreArgs: boolean;
    }
  | { type: 'exec.return'; ns: number; pid: number; ret: number; comm: string };

export function decodeExec(data: unknown[]): z.SafeParseReturnType<unknown, ExecDecoded> {
  const r = ExecRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  switch (t[0]) {
    case 1:
      return { success: true, data: { type: 'exec.arg', ns: t[1], pid: t[2], idx: t[3], arg: t[4] } };
    case 2:
      return {
        success: true,
        data: {
          type: 'exec.enter', ns: t[1], pid: t[2], tid: t[3], ppid: t[4], uid: t[5], gid: t[6],
          cgroupId: t[7], comm: t[8], moreArgs: t[9] === 1,
        },
      };
    case 3:
      return { success: true, data: { type: 'exec.return', ns: t[1], pid: t[2], ret: t[3], comm: t[4] } };
    case 4:
      return { success: true, data: { type: 'exec.filename', ns: t[1], pid: t[2], filename: t[3] } };
  }
}
