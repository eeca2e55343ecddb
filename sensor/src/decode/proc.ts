import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, I64, Ns, U32, U64, type DecodeResult } from './records.js';
import { parseNumericMapKey } from './bpftrace-output.js';
import { lateLost, sentCounts, type BatchDecoded, type Maps } from './exec.js';

/** Records of probes/proc.bt (see its header): forks and exits in maps, and the end of each flush. */
export const ProcFlushRecord = z.tuple([z.literal(RECORD.proc.flush), Ns]);
export const ForkValue = z.tuple([U32, U32, U64, Comm]);
export const ExitValue = z.tuple([I64, Comm]);

export type ProcDecoded =
  | { type: 'proc.fork'; ns: number; ppid: number; pid: number; uid: number; cgroupId: number; comm: string }
  | { type: 'proc.exit'; ns: number; pid: number; code: number | null; signal: number | null; comm: string };

export function decodeProc(data: unknown[]): DecodeResult<{ type: 'proc.flush'; ns: number }> {
  const r = ProcFlushRecord.safeParse(data);
  return r.success ? { success: true, data: { type: 'proc.flush', ns: r.data[1] } } : r;
}

/** task->exit_code is a wait status: low 7 bits the killing signal, else the code in bits 8..15. */
export function splitWaitStatus(status: number): { code: number | null; signal: number | null } {
  const signal = status & 0x7f;
  return { code: signal === 0 ? (status >> 8) & 0xff : null, signal: signal === 0 ? null : signal };
}

/** A late entry's map by its kind (see proc.bt). */
const LATE_MAP: Record<string, string> = { 10: '@proc_fork', 11: '@proc_exit' };

/** One flush of proc.bt's maps as fork and exit records; `prev` is the flush before (see lateLost). */
export function decodeProcBatch(maps: Maps, prev?: Maps): BatchDecoded<ProcDecoded> {
  let rejects = 0;
  const records: ProcDecoded[] = [];
  let forks = 0;
  let exits = 0;
  for (const [key, v] of Object.entries(maps.get('@proc_fork') ?? {})) {
    const k = parseNumericMapKey(key, 2);
    const f = ForkValue.safeParse(v);
    if (!k || !f.success) {
      rejects++;
      continue;
    }
    forks++;
    records.push({
      type: 'proc.fork',
      ns: k[1]!,
      pid: k[0]!,
      ppid: f.data[0],
      uid: f.data[1],
      cgroupId: f.data[2],
      comm: f.data[3],
    });
  }
  for (const [key, v] of Object.entries(maps.get('@proc_exit') ?? {})) {
    const k = parseNumericMapKey(key, 2);
    const e = ExitValue.safeParse(v);
    if (!k || !e.success) {
      rejects++;
      continue;
    }
    exits++;
    records.push({ type: 'proc.exit', ns: k[1]!, pid: k[0]!, comm: e.data[1], ...splitWaitStatus(e.data[0]) });
  }
  const count = sentCounts(maps.get('@proc_sent'));
  // A rejected entry was received, so it is not lost; it is counted once, as a reject.
  const late = lateLost(maps.get('@proc_late'), maps, prev, (key, m) => {
    const k = parseNumericMapKey(key, 3);
    const map = k && LATE_MAP[k[0]!];
    return map ? m.get(map)?.[`${k[1]},${k[2]}`] !== undefined : null;
  });
  const lost = Math.max(0, count('10') + count('11') - forks - exits - rejects) + late.lost;
  return { records, rejects: rejects + late.rejects, lost };
}
