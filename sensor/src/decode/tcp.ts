import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, Ns, U32, U64, type DecodeResult, recordUnion } from './records.js';
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
 * A window key of @tcp_count / _first / _dmax / _dsum / _last: five u64 packed as the probe's header
 * says ("k0,k1,k2,k3,k4"; pid << 32 overruns a double's exact range, so they are read as BigInt).
 * The ephemeral port, which the key leaves out, is 0.
 */
export function decodeTcpKey(key: string): ({ pid: number } & TcpSocket) | null {
  const parts = key.split(',');
  if (parts.length !== 5 || !parts.every((p) => /^\s*\d{1,20}$/.test(p))) return null;
  const k = parts.map((p) => BigInt(p.trim()));
  if (k.some((x) => x > 0xffff_ffff_ffff_ffffn)) return null;
  const [k0, k1, k2, k3, k4] = k as [bigint, bigint, bigint, bigint, bigint];
  const pid = Number(k0 >> 32n);
  const ev = Number((k0 >> 24n) & 0xffn);
  const fam = Number((k0 >> 16n) & 0xffn);
  const port = Number(k0 & 0xffffn);
  if ((fam !== 2 && fam !== 10) || !(ev in EVENTS)) return null;
  const lo = (x: bigint) => Number(x & 0xffff_ffffn);
  const hi = (x: bigint) => Number(x >> 32n);
  const words =
    fam === 2 ? [lo(k1), 0, 0, 0, hi(k1), 0, 0, 0] : [lo(k1), hi(k1), lo(k2), hi(k2), lo(k3), hi(k3), lo(k4), hi(k4)];
  if (fam === 2 && (k2 | k3 | k4) !== 0n) return null;
  const out = ev === 2 || ev === 4;
  return { pid, ...socketOf(ev, fam, out ? 0 : port, out ? port : 0, words) };
}
