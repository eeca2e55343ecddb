import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';
import { Comm, I64, Ns, U32, U64, type DecodeResult } from './records.js';
import { parseNumericMapKey } from './bpftrace-output.js';

/** Records of probes/connect.bt (see its header). */
export const ConnectRecord = z.tuple([
  z.literal(RECORD.connect.first),
  Ns,
  U32,
  U32,
  U32,
  U64,
  Comm,
  z.union([z.literal(2), z.literal(10)]),
  z.number().int().min(0).max(65535),
  U32,
  U32,
  U32,
  U32,
  I64,
]);

export interface ConnectDest {
  family: 'ipv4' | 'ipv6';
  daddr: string;
  dport: number;
}

export type ConnectDecoded = {
  type: 'connect.first';
  ns: number;
  pid: number;
  tid: number;
  uid: number;
  cgroupId: number;
  comm: string;
  ret: number;
} & ConnectDest;

/** The words are the address bytes loaded as little-endian u32s (see the probe). */
function wordBytes(words: number[]): Buffer {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    b.writeUInt32LE(w >>> 0, i * 4);
  });
  return b;
}

export function formatAddress(family: 2 | 10, words: [number, number, number, number]): string {
  if (family === 2) return Array.from(wordBytes([words[0]])).join('.');
  const b = wordBytes(words);
  // IPv4-mapped (::ffff:a.b.c.d) is shown as such: it is an IPv4 destination in disguise.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${Array.from(b.subarray(12)).join('.')}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // RFC 5952: the longest run (>= 2) of zero groups becomes "::".
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

export function decodeConnect(data: unknown[]): DecodeResult<ConnectDecoded> {
  const r = ConnectRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  return {
    success: true,
    data: {
      type: 'connect.first',
      ns: t[1],
      pid: t[2],
      tid: t[3],
      uid: t[4],
      cgroupId: t[5],
      comm: t[6],
      family: t[7] === 2 ? 'ipv4' : 'ipv6',
      dport: t[8],
      daddr: formatAddress(t[7], [t[9], t[10], t[11], t[12]]),
      ret: t[13],
    },
  };
}

/** A window key of @connect_count / @connect_first / @connect_last: "pid,family,dport,a0,a1,a2,a3". */
export function decodeConnectKey(key: string): ({ pid: number } & ConnectDest) | null {
  const k = parseNumericMapKey(key, 7);
  if (!k) return null;
  const [pid, fam, dport, a0, a1, a2, a3] = k as [number, number, number, number, number, number, number];
  if (fam !== 2 && fam !== 10) return null;
  return { pid, family: fam === 2 ? 'ipv4' : 'ipv6', dport, daddr: formatAddress(fam, [a0, a1, a2, a3]) };
}
