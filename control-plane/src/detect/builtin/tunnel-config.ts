import type { Severity } from '@vigil/schema';
import { defineDetection } from '../define.js';
import { exeOf } from '../argv.js';
import { isExposedService, isLoopback, parseEndpoint, urlEndpoint } from './tunnel-grammar.js';

/** One config line as the sensor reports it (`12: serverAddr = "x"` or without a number), split. */
interface Line {
  /** "the file's line 12", or its place among the reported lines. */
  at: string;
  key: string;
  value: string;
  text: string;
}

function readLines(directives: readonly string[]): Line[] {
  return directives.map((raw, i) => {
    const m = /^(\d+):\s*(.*)$/.exec(raw.trim());
    const text = (m ? m[2]! : raw).trim();
    const kv = /^(?:-\s+)?["']?([\w.-]+)["']?\s*[=:]\s*(.*)$/.exec(text);
    return {
      at: m ? `line ${m[1]}` : `directive ${i + 1}`,
      key: (kv?.[1] ?? text).toLowerCase(),
      value: (kv?.[2] ?? '').trim().replace(/^["']|["',]+$/g, ''),
      text,
    };
  });
}

/** What a tunnel client's config sets up: the far end it registers with, the local services it publishes. */
interface TunnelConfig {
  tool: string;
  /** The far end and the line that names it. */
  far: { host: string; line: Line };
  /** Local services published through it, with the lines that name them. */
  exposed: { port: number | null; line: Line }[];
}

const FRP_SERVER = ['serveraddr', 'server_addr'];
const FRP_PROXY = ['localport', 'local_port', 'remoteport', 'remote_port', '[[proxies]]', '[[visitors]]'];

function frp(lines: Line[]): TunnelConfig | null {
  const server = lines.find((l) => FRP_SERVER.includes(l.key));
  // A proxy: a [[proxies]] table, or in the INI form any section but [common] with a local port.
  const proxies = lines.filter((l) => FRP_PROXY.includes(l.key) || /^\[\[(proxies|visitors)\]\]$/.test(l.text));
  if (!server || proxies.length === 0) return null;
  return {
    tool: 'frp client',
    far: { host: server.value, line: server },
    exposed: lines
      .filter((l) => l.key === 'localport' || l.key === 'local_port')
      .map((l) => ({ port: Number(l.value) || null, line: l })),
  };
}

function cloudflared(lines: Line[]): TunnelConfig | null {
  const tunnel = lines.find((l) => l.key === 'tunnel');
  if (!tunnel || !lines.some((l) => ['credentials-file', 'ingress', 'service', 'url', 'token'].includes(l.key)))
    return null;
  return {
    tool: 'cloudflared tunnel',
    far: { host: "Cloudflare's edge", line: tunnel },
    exposed: lines
      .filter((l) => l.key === 'service' || l.key === 'url')
      .map((l) => ({ port: urlEndpoint(l.value)?.port ?? parseEndpoint(l.value).port, line: l }))
      .filter((e) => e.port !== null),
  };
}

function gost(lines: Line[]): TunnelConfig | null {
  if (!lines.some((l) => l.key === 'services')) return null;
  if (!lines.some((l) => ['chains', 'hops', 'forwarder', 'nodes'].includes(l.key))) return null;
  const addrs = lines.filter((l) => l.key === 'addr').map((l) => ({ ...parseEndpoint(l.value), line: l }));
  const far = addrs.find((a) => a.host !== '' && !isLoopback(a.host));
  if (!far) return null;
  return {
    tool: 'gost',
    far: { host: far.host, line: far.line },
    exposed: addrs.filter((a) => a.host !== '' && isLoopback(a.host)).map((a) => ({ port: a.port, line: a.line })),
  };
}

const READERS = [frp, cloudflared, gost];

export const tunnelConfig = defineDetection({
  id: 'tunnel.config',
  title: 'Tunnel client configuration',
  severity: 'high',
  mitre: ['T1572', 'T1090'],
  on: ['config'],
  description:
    'A process (whatever it is called) started with a tunnel client’s config: frp (serverAddr/server_addr with proxies), cloudflared (tunnel with credentials or ingress), gost (services with a chain to a remote node).',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical when the far end is not loopback and the config publishes a local service that hands out access (ssh 22, Jupyter 8888, TensorBoard 6006, …)',
  },
  match(ev) {
    if (ev.config.error !== null || ev.config.directives.length === 0) return null;
    const lines = readLines(ev.config.directives);
    const path = ev.config.path;
    for (const read of READERS) {
      const c = read(lines);
      if (!c) continue;
      const remote = !isLoopback(c.far.host);
      const services = c.exposed.filter((e) => isExposedService(e.port));
      const severity: Severity = remote && services.length ? 'critical' : 'high';
      const published = c.exposed.length
        ? `, publishing ${c.exposed.map((e) => `\`${e.line.text}\` (${e.line.at})`).join(', ')}`
        : '';
      return {
        reason: `${exeOf(ev)} was started with a ${c.tool} config ${path}: far end ${c.far.host} (\`${c.far.line.text}\`, ${path} ${c.far.line.at})${published}${services.length && remote ? ` — local ${services.map((s) => s.port).join(', ')} reachable from a non-loopback far end` : ''}`,
        severity,
        subject: `config:${path}`,
      };
    }
    return null;
  },
});
