/**
 * The DNS wire format (RFC 1035) of a message a process sent or read, parsed for its question and its
 * A/AAAA answers. The bytes come from a hostile process: every read is bounded, compression pointers
 * must point backwards (no loops), names are cut at 255 bytes, and anything odd is a named reason,
 * never a throw or a guess.
 */

export interface DnsAnswer {
  name: string;
  type: 'A' | 'AAAA';
  ttl: number;
  addr: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  rcode: number;
  qname: string | null;
  qtype: number | null;
  answers: DnsAnswer[];
  /** Why the message could not be read whole (the fields before it stand), or null. */
  malformed: string | null;
}

const MAX_NAME = 255;

/**
 * A label's bytes as text: letters, digits, '-' and '_' as themselves; everything else (a dot or a NUL
 * inside a label, a space, a non-ASCII byte) as \DDD, RFC 1035's master-file escape, so a label can
 * never pass for two and no byte is lost.
 */
function labelText(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f)
      s += String.fromCharCode(c);
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

class Malformed extends Error {
  override name = 'DnsMalformed';
}

/** A name at `at`; returns it and the offset just past it in the message (pointers followed once each). */
function readName(msg: Uint8Array, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let wire = 1;
  let pos = at;
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (pos >= msg.length) throw new Malformed('truncated name');
    const len = msg[pos]!;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw new Malformed('truncated pointer');
      const target = ((len & 0x3f) << 8) | msg[pos + 1]!;
      // A pointer must go backwards: that alone rules out loops.
      if (target >= pos || ++jumps > 64) throw new Malformed('compression loop');
      if (next < 0) next = pos + 2;
      pos = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Malformed('bad label type');
    if (len === 0) break;
    if (pos + 1 + len > msg.length) throw new Malformed('truncated label');
    wire += len + 1;
    if (wire > MAX_NAME) throw new Malformed('name over 255 bytes');
    labels.push(labelText(msg.subarray(pos + 1, pos + 1 + len)));
    pos += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next: next < 0 ? pos + 1 : next };
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
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

const u16 = (m: Uint8Array, i: number) => (m[i]! << 8) | m[i + 1]!;
const u32 = (m: Uint8Array, i: number) => ((m[i]! << 24) >>> 0) + ((m[i + 1]! << 16) | (m[i + 2]! << 8) | m[i + 3]!);

/** Parses a message (possibly cut short: `malformed` then says where it stopped). Never throws. */
export function parseDnsMessage(msg: Uint8Array): DnsMessage {
  const out: DnsMessage = { id: 0, response: false, rcode: 0, qname: null, qtype: null, answers: [], malformed: null };
  if (msg.length < 12) return { ...out, malformed: 'shorter than a header' };
  out.id = u16(msg, 0);
  out.response = (msg[2]! & 0x80) !== 0;
  out.rcode = msg[3]! & 0x0f;
  const qd = u16(msg, 4);
  const an = u16(msg, 6);
  let pos = 12;
  try {
    if (qd === 0) return out;
    const q = readName(msg, pos);
    if (q.next + 4 > msg.length) throw new Malformed('truncated question');
    out.qname = q.name;
    out.qtype = u16(msg, q.next);
    pos = q.next + 4;
    // Only a single-question message is read past its question (what every stub resolver sends).
    if (qd !== 1) return out;
    for (let i = 0; i < an; i++) {
      const rr = readName(msg, pos);
      if (rr.next + 10 > msg.length) throw new Malformed('truncated record');
      const type = u16(msg, rr.next);
      const ttl = u32(msg, rr.next + 4);
      const rdlen = u16(msg, rr.next + 8);
      const rdata = rr.next + 10;
      if (rdata + rdlen > msg.length) throw new Malformed('truncated record');
      if (type === 1 && rdlen === 4)
        out.answers.push({ name: rr.name, type: 'A', ttl, addr: Array.from(msg.subarray(rdata, rdata + 4)).join('.') });
      else if (type === 28 && rdlen === 16)
        out.answers.push({ name: rr.name, type: 'AAAA', ttl, addr: ipv6(msg.subarray(rdata, rdata + 16)) });
      pos = rdata + rdlen;
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    out.malformed = e.message;
  }
  return out;
}
