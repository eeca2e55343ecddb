import { z } from 'zod/v4';
import { Ns, U32, type DecodeResult } from './records.js';
import { RECORD } from '../probes/records.js';
import { formatAddress } from './connect.js';

/** The bytes of a message the probe copies at most (probes/dns.bt). */
export const DNS_CAPTURE = 192;

const Fd = z.number().int().nonnegative().max(0x7fff_ffff);

/** Records of probes/dns.bt (see its header). */
export const DnsMessageRecord = z.tuple([
  z.union([z.literal(RECORD.dns.query), z.literal(RECORD.dns.answer)]),
  Ns,
  U32,
  Fd,
  z.number().int().nonnegative(),
  z.string().max(DNS_CAPTURE * 4),
]);
export const DnsServerRecord = z.tuple([
  z.literal(RECORD.dns.server),
  Ns,
  U32,
  Fd,
  z.union([z.literal(2), z.literal(10)]),
  z.number().int().min(0).max(65535),
  U32,
  U32,
  U32,
  U32,
]);

/** [43, ns, skipped]: messages past the probe's per-process rate, not printed. */
export const DnsSkippedRecord = z.tuple([z.literal(RECORD.dns.skipped), Ns, z.number().int().positive()]);

export type DnsDecoded =
  | {
      type: 'dns.message';
      direction: 'query' | 'answer';
      ns: number;
      pid: number;
      fd: number;
      /** The message's length as sent or read. */
      len: number;
      /** Its first min(len, DNS_CAPTURE) bytes, or null when bpftrace's text of them is ambiguous. */
      bytes: Uint8Array | null;
    }
  | { type: 'dns.skipped'; ns: number; skipped: number }
  | { type: 'dns.server'; ns: number; pid: number; fd: number; family: 'ipv4' | 'ipv6'; addr: string; port: number };

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);

/**
 * bpftrace's buf() text back to bytes. It prints printable ASCII as itself and every other byte as
 * "\xNN" (lowercase), but a backslash as itself: so "\x00" is one byte or four. `want` (the bytes
 * captured) tells: each literal reading is three bytes longer. When the escape reading has the right
 * length it is the only one; otherwise the text is ambiguous (null), never guessed.
 */
export function unescapeBuf(text: string, want: number): Uint8Array | null {
  const out: number[] = [];
  let ambiguous = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e || c < 0x20) return null;
    if (
      c === 0x5c &&
      text[i + 1] === 'x' &&
      i + 3 < text.length &&
      isHex(text.charCodeAt(i + 2)) &&
      isHex(text.charCodeAt(i + 3))
    ) {
      const v = parseInt(text.slice(i + 2, i + 4), 16);
      // A printable byte is never escaped: "\x41" is the four bytes it shows.
      if (v >= 0x20 && v <= 0x7e) {
        out.push(c);
        continue;
      }
      out.push(v);
      ambiguous++;
      i += 3;
      continue;
    }
    out.push(c);
  }
  if (out.length === want) return Uint8Array.from(out);
  // Some of the escapes were literal text; which ones cannot be told unless all of them were.
  if (ambiguous > 0 && out.length + 3 * ambiguous === want) return unescapeLiteral(text);
  return null;
}

function unescapeLiteral(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

export function decodeDns(data: unknown[]): DecodeResult<DnsDecoded> {
  if (data[0] === RECORD.dns.skipped) {
    const r = DnsSkippedRecord.safeParse(data);
    return r.success ? { success: true, data: { type: 'dns.skipped', ns: r.data[1], skipped: r.data[2] } } : r;
  }
  if (data[0] === RECORD.dns.server) {
    const r = DnsServerRecord.safeParse(data);
    if (!r.success) return r;
    const t = r.data;
    return {
      success: true,
      data: {
        type: 'dns.server',
        ns: t[1],
        pid: t[2],
        fd: t[3],
        family: t[4] === 2 ? 'ipv4' : 'ipv6',
        port: t[5],
        addr: formatAddress(t[4], [t[6], t[7], t[8], t[9]]),
      },
    };
  }
  const r = DnsMessageRecord.safeParse(data);
  if (!r.success) return r;
  const t = r.data;
  return {
    success: true,
    data: {
      type: 'dns.message',
      direction: t[0] === RECORD.dns.query ? 'query' : 'answer',
      ns: t[1],
      pid: t[2],
      fd: t[3],
      len: t[4],
      bytes: unescapeBuf(t[5], Math.min(t[4], DNS_CAPTURE)),
    },
  };
}
