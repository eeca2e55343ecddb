import { SEVERITIES, type EventV1, type Severity } from '@vigil/schema';
import type { DetectionContext } from '../define.js';
import { exeOf, namesOf } from '../argv.js';
import { EXPOSED_SERVICE_PORTS, TUNNEL_TOOL_NAMES } from '../indicators.js';

/**
 * What the tunnel rules share: addresses (loopback or not), endpoints written host:port, severity
 * arithmetic, and who a process is (by name, or by content when renamed).
 */

const LOOPBACK_NAMES = ['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback'];

/** 127.0.0.0/8, ::1, an IPv4-mapped loopback, or a loopback name. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    LOOPBACK_NAMES.includes(h) ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    h === '::1' ||
    /^::ffff:127\./.test(h) ||
    /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h)
  );
}

/** A bind address that means every interface: empty, `*`, 0.0.0.0 or `::`. */
export const isAnyAddress = (host: string): boolean => ['', '*', '0.0.0.0', '::', '[::]'].includes(host.trim());

/** `host:port`, `[v6]:port`, `:port` or a bare port, as tunnel tools write endpoints. */
export function parseEndpoint(text: string): { host: string; port: number | null } {
  const t = text.trim();
  const v6 = /^\[([^\]]*)\](?::(\d+))?$/.exec(t);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : null };
  if (/^\d+$/.test(t)) return { host: '', port: Number(t) };
  const i = t.lastIndexOf(':');
  if (i < 0 || t.indexOf(':') !== i) return { host: t, port: null };
  const port = t.slice(i + 1);
  return { host: t.slice(0, i), port: /^\d+$/.test(port) ? Number(port) : null };
}

/** The host and port in a URL such as `relay+tls://10.1.2.3:443` or `ssh://localhost:22`. */
export function urlEndpoint(url: string): { scheme: string; host: string; port: number | null } | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]*)(?::(\d+))?/i.exec(url.trim());
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const port = m[3] ? Number(m[3]) : (DEFAULT_PORTS[scheme] ?? null);
  return { scheme, host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

const DEFAULT_PORTS: Record<string, number> = { ssh: 22, http: 80, https: 443, rdp: 3389, vnc: 5900 };

/** A local service whose exposure hands out interactive access (ssh, Jupyter, TensorBoard, …). */
export const isExposedService = (port: number | null): boolean => port !== null && EXPOSED_SERVICE_PORTS.includes(port);

export const rank = (s: Severity): number => SEVERITIES.indexOf(s);
export const maxSeverity = (...s: Severity[]): Severity => s.reduce((a, b) => (rank(b) > rank(a) ? b : a), 'info');
export const atMost = (s: Severity, cap: Severity): Severity => (rank(s) > rank(cap) ? cap : s);

/** How a process was known for a tool: its own name, or its content (a renamed copy of the host's tool). */
export interface ToolIdentity {
  tool: string;
  by: 'name' | 'hash';
  /** For `hash`: "a copy of the host's ssh (sha256 0a1b2c3d4e5f…) run as /tmp/.cache/kworker". */
  evidence: string;
}

/**
 * The tunnel/relay tool an event's process is, by name or, when renamed, by content. A copy of the
 * host's ssh under another name answers `{ tool: 'ssh', by: 'hash' }`.
 */
export function tunnelToolOf(ev: EventV1, ctx: DetectionContext, tools = TUNNEL_TOOL_NAMES): ToolIdentity | null {
  const names = namesOf(ev);
  const byName = tools.find((t) => names.has(t));
  if (byName) return { tool: byName, by: 'name', evidence: byName };
  const tool = ctx.toolOf(ev.host, ev.proc);
  if (!tool || !tools.includes(tool)) return null;
  return { tool, by: 'hash', evidence: copyOf(ev, ctx, tool) };
}

/** "a copy of the host's ssh (sha256 0a1b2c3d4e5f…) run as /tmp/x": the hash match, for a reason. */
export function copyOf(ev: EventV1, ctx: DetectionContext, tool: string): string {
  const hash = ctx.exeHash(ev.host, ev.proc);
  return `a copy of the host's ${tool} (sha256 ${hash ? `${hash.slice(0, 12)}…` : 'match'}) run as ${exeOf(ev)}`;
}

/** "ssh" or "a copy of the host's ssh (…) run as /tmp/x": how a reason names the process. */
export const describeTool = (id: ToolIdentity): string => (id.by === 'name' ? id.tool : id.evidence);
