import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, Ns, U32, U64, type DecodeResult, recordUnion } from './records.js';
import { parseNumericMapKey } from './bpftrace-output.js';
import { formatAddress } from './connect.js';

/** Records of probes/tcp.bt (see its header). */
const Port = z.number().int().min(0).max(65535);
const Ev = z.number().int().min(1).max(5);
const Family = z.union([z.literal(2), z.literal(10)]);

export const TcpFirstRecord = z.tuple([
  z.literal(RECORD.tcp.first),
  Ns,
  U32,
  z.union([z.literal(0), z.literal(1)]),
  U32,
  U64,
  Comm,
  Ev,
  Family,
  Port,
  Port,
  U32,
  U32,
  U32,
  U32,
  U32,
  U32,
  U32,
  U32,
  U64,
]);
export const TcpRefusedRecord = z.tuple([z.literal(RECORD.tcp.refused), Ns, U64]);
const TcpRecord = recordUnion(TcpFirstRecord, TcpRefusedRecord);

/** The probe's event codes, as the conn event names them. */
const EVENTS = {
  1: { event: 'listen', direction: null },
  2: { event: 'established', direction: 'out' },
  3: { event: 'established', direction: 'in' },
  4: { event: 'close', direction: 'out' },
  5: { event: 'close', direction: 'in' },
} as const;

export interface TcpSocket {
  event: 'listen' | 'established' | 'close';
  direction: 'out' | 'in' | null;
  family: 'ipv4' | 'ipv6';
  local: { addr: string; port: number };
  remote: { addr: string; port: number };
}

export type TcpDecoded =
  | ({
      type: 'tcp.first';
      ns: number;
      pid: number;
      /** uid, cgroup and comm are the owner's (the record came from its own context); else absent. */
      hint: { uid?: number; cgroupId?: number; comm?: string };
      /** For a close: how long the connection was established (ns); else 0. */
      durNs: number;
    } & TcpSocket)
  | { type: 'tcp.refused'; ns: number; n: number };

const words = (w: number[]) => w as [number, number, number, number];

function socketOf(ev: number, fam: 2 | 10, lport: number, rport: number, addrs: number[]): TcpSocket {
  const e = EVENTS[ev as keyof typeof EVENTS];
  return {
    event: e.event,
    direction: e.direction,
    family: fam === 2 ? 'ipv4' : 'ipv6',
    local: { addr: formatAddress(fam, words(addrs.slice(0, 4))), port: lport },
    remote: { addr: formatAddress(fam, words(addrs.slice(4, 8))), port: rport },
  };
}

export function decodeTcp(data: unknown[]): DecodeResult<TcpDecoded> {
  const r = TcpRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  if (t[0] === RECORD.tcp.refused) return { success: true, data: { type: 'tcp.refused', ns: t[1], n: t[2] } };
  const own = t[3] === 1;
  return {
    success: true,
    data: {
      type: 'tcp.first',
      ns: t[1],
      pid: t[2],
      hint: own ? { uid: t[4], cgroupId: t[5], comm: t[6] } : {},
      ...socketOf(t[7], t[8], t[9], t[10], t.slice(11, 19) as number[]),
      durNs: t[19],
    },
  };
}

/**
 * A window key of @tcp_count / _first / _dmax / _dsum / _last:
 * "pid,ev,family,lport,rport,l0,l1,l2,l3,r0,r1,r2,r3" (the ephemeral port is 0).
 */
export function decodeTcpKey(key: string): ({ pid: number } & TcpSocket) | null {
  const k = parseNumericMapKey(key, 13);
  if (!k) return null;
  const [pid, ev, fam, lport, rport] = k as [number, number, number, number, number];
  if ((fam !== 2 && fam !== 10) || !(ev in EVENTS) || lport > 65535 || rport > 65535) return null;
  if (k.slice(5).some((w) => w < 0 || w > 0xffff_ffff)) return null;
  return { pid, ...socketOf(ev, fam, lport, rport, k.slice(5)) };
}
