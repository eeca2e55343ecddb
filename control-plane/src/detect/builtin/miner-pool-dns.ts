import { defineDetection } from '../define.js';
import { basename, exeOf } from '../argv.js';
import { isTextTool, poolDomain } from './miner-signals.js';

/**
 * A mining pool's name, resolved by a process or named by the DNS answer its connection went to: a
 * pool on 443 or behind any port is known by its name.
 */
export const minerPoolDns = defineDetection({
  id: 'miner.pool-dns',
  title: 'Mining pool name resolved or connected to',
  severity: 'critical',
  mitre: ['T1496', 'T1071.004'],
  on: ['dns', 'connect'],
  description:
    'A DNS query or answer for a name under a known pool domain (POOL_DOMAINS), or a connection whose peer a DNS ' +
    'answer named so. An operator looking the name up with dig/host/nslookup ranks medium.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'medium when the process is a lookup or text tool (dig, host, nslookup)',
  },
  match(ev) {
    let what: string;
    if (ev.kind === 'dns') {
      const names = [ev.dns.qname, ...ev.dns.answers.map((a) => a.name)];
      const hit = names.find((n) => poolDomain(n));
      if (!hit) return null;
      const addrs = ev.dns.answers.map((a) => a.addr);
      what = `${ev.dns.direction === 'query' ? 'queried' : 'read an answer for'} ${hit} (pool domain ${poolDomain(hit)})${addrs.length ? ` -> ${addrs.join(', ')}` : ''}${ev.dns.server ? ` via ${ev.dns.server.addr}:${ev.dns.server.port}` : ''}`;
    } else {
      const domain = poolDomain(ev.connect.hostname);
      if (!domain) return null;
      what = `connected to ${ev.connect.daddr}:${ev.connect.dport}, which DNS named ${ev.connect.hostname} (pool domain ${domain})`;
    }
    const exe = exeOf(ev);
    return {
      reason: `${basename(exe) || ev.proc.comm} (pid ${ev.proc.pid}, ${exe}) ${what}`,
      severity: isTextTool(exe, ev.proc) ? 'medium' : 'critical',
    };
  },
});
