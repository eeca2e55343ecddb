import { defineDetection } from '../define.js';
import { domainMatches, exeOf } from '../argv.js';
import { TUNNEL_DOMAINS } from '../indicators.js';

/**
 * A process resolving or reaching a tunnel service (ngrok, Cloudflare quick tunnels, bore, serveo, …)
 * by the name it asked for: a DNS query, or the name a DNS answer gave a connect's peer. What the
 * process is called does not matter; the service it reaches does.
 */
export const tunnelDomain = defineDetection({
  id: 'tunnel.domain',
  title: 'Tunnel service resolved or reached',
  severity: 'high',
  mitre: ['T1572', 'T1071'],
  on: ['dns', 'connect'],
  description:
    'A DNS query for a tunnel service domain (TUNNEL_DOMAINS), or a connect to an address a DNS answer gave for one.',
  match(ev) {
    if (ev.kind === 'dns') {
      const name = ev.dns.direction === 'query' ? ev.dns.qname?.toLowerCase().replace(/\.$/, '') : undefined;
      const domain = name ? domainMatches(name, TUNNEL_DOMAINS) : undefined;
      if (!name || !domain) return null;
      return {
        reason: `${exeOf(ev)} asked DNS for ${name} (tunnel service ${domain})${ev.dns.server ? ` from ${ev.dns.server.addr}` : ''}`,
        subject: name,
      };
    }
    const host = ev.connect.hostname?.toLowerCase().replace(/\.$/, '');
    const domain = host ? domainMatches(host, TUNNEL_DOMAINS) : undefined;
    if (!host || !domain) return null;
    return {
      reason: `${exeOf(ev)} connected to ${ev.connect.daddr}:${ev.connect.dport}, which DNS gave for ${host} (tunnel service ${domain})`,
      subject: host,
    };
  },
});
