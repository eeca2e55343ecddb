import type { DnsEventV1 } from '@vigil/schema';
import { DNS_CAPTURE, type DnsDecoded } from '../decode/dns.js';
import { parseDnsMessage } from '../decode/dns-wire.js';
import type { Counters } from '../counters.js';

type DnsData = DnsEventV1['dns'];
type Server = NonNullable<DnsData['server']>;

/** Sockets whose server the sensor remembers, and answered addresses it keeps a name for (each). */
export const DNS_CACHE_MAX = 4096;
/** An answer names its addresses for its TTL, but at least this long (TTL 0 is common) … */
const MIN_TTL_S = 30;
/** … and at most this long. */
const MAX_TTL_S = 86_400;

const QTYPE_NAMES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  64: 'SVCB',
  65: 'HTTPS',
  255: 'ANY',
};

/** A Map that forgets its oldest entry past `max`. */
class Bounded<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: K, v: V): this {
    this.delete(k);
    super.set(k, v);
    if (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}

/**
 * The DNS side of the event builder: the server each DNS socket talks to (from the probe's server
 * records), each message parsed into a `dns` event's data, and the names answers gave to addresses,
 * so that a later connect to one carries `hostname`. Only the process's own answers name its connects:
 * a process can read any "answer" it likes on an unconnected socket (one of its own can send it), so a
 * host-wide table would let it name other processes' destinations. glibc, musl, Go and Python resolve
 * in the process that connects; a name resolved by another process (nscd, a parent) is not carried.
 */
export class DnsNames {
  private readonly servers = new Bounded<string, Server>(DNS_CACHE_MAX);
  private readonly names = new Bounded<string, { name: string; untilNs: number }>(DNS_CACHE_MAX);

  constructor(private readonly counters: Counters) {}

  /** A server record: remembered for the socket; a message record: its event data; skips: counted. */
  onRecord(r: DnsDecoded): DnsData | null {
    if (r.type === 'dns.skipped') {
      this.counters.reject('dns.rate-limited', r.skipped);
      return null;
    }
    if (r.type === 'dns.server') {
      this.servers.set(`${r.pid} ${r.fd}`, { family: r.family, addr: r.addr, port: r.port });
      return null;
    }
    const server = this.servers.get(`${r.pid} ${r.fd}`) ?? null;
    const truncated = r.len > DNS_CAPTURE;
    if (r.bytes === null) {
      this.counters.reject('dns.ambiguous-capture');
      return {
        direction: r.direction,
        id: null,
        qname: null,
        qtype: null,
        qtypeName: null,
        rcode: null,
        answers: [],
        server,
        len: r.len,
        truncated,
        malformed: 'ambiguous capture',
      };
    }
    const m = parseDnsMessage(r.bytes);
    // A message cut by the capture is expected to end early; anything else odd is counted.
    if (m.malformed && !truncated) this.counters.reject('dns.malformed');
    const answer = r.direction === 'answer';
    if (answer && m.qname !== null && m.answers.length > 0) {
      for (const a of m.answers) {
        const ttl = Math.min(Math.max(a.ttl, MIN_TTL_S), MAX_TTL_S);
        const entry = { name: m.qname, untilNs: r.ns + ttl * 1e9 };
        this.names.set(`${r.pid} ${a.addr}`, entry);
      }
    }
    return {
      direction: r.direction,
      id: m.id,
      qname: m.qname,
      qtype: m.qtype,
      qtypeName: m.qtype === null ? null : (QTYPE_NAMES[m.qtype] ?? null),
      rcode: answer ? m.rcode : null,
      answers: answer ? m.answers : [],
      server,
      len: r.len,
      truncated,
      malformed: m.malformed,
    };
  }

  /** The name `pid` resolved to `addr`, while its TTL lasts. */
  hostname(pid: number, addr: string, ns: number): string | undefined {
    const bare = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
    const e = this.names.get(`${pid} ${bare}`);
    return e && e.untilNs >= ns ? e.name : undefined;
  }
}
