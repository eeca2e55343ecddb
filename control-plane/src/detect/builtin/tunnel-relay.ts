import type { EventV1, Severity } from '@vigil/schema';
import { defineDetection, type Finding } from '../define.js';
import { exeOf, namesOf } from '../argv.js';
import { SHELLS } from '../indicators.js';
import {
  describeTool,
  isAnyAddress,
  isExposedService,
  isLoopback,
  tunnelToolOf,
  type ToolIdentity,
} from './tunnel-grammar.js';

type Conn = Extract<EventV1, { kind: 'conn' }>;

const ep = (e: { addr: string; port: number }) =>
  e.addr.includes(':') ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
const key = (c: Conn['conn']) => `${ep(c.local)}>${ep(c.remote)}`;

/** The process's connections still established before this event: outbound to non-loopback, and inbound. */
function openConnections(history: readonly EventV1[]): { carriers: Conn[]; inbound: Conn[]; listeners: Conn[] } {
  const open = new Map<string, Conn>();
  const listeners: Conn[] = [];
  for (const e of history) {
    if (e.kind !== 'conn') continue;
    if (e.conn.event === 'listen') listeners.push(e);
    else if (e.conn.event === 'established') open.set(key(e.conn), e);
    else open.delete(key(e.conn));
  }
  const all = [...open.values()];
  return {
    carriers: all.filter((c) => c.conn.direction === 'out' && !isLoopback(c.conn.remote.addr)),
    inbound: all.filter((c) => c.conn.direction === 'in'),
    listeners,
  };
}

/** The address a connection was accepted on as its listener bound it (0.0.0.0 when it took every interface). */
function boundAddress(accepted: Conn, listeners: readonly Conn[]): string {
  const l = [...listeners].reverse().find((x) => x.conn.local.port === accepted.conn.local.port);
  return l ? l.conn.local.addr : accepted.conn.local.addr;
}

/** What the relay cases look at: the event, the process's open connections, who it is. */
interface Side {
  ev: Conn;
  own: ReturnType<typeof openConnections>;
  /** Accepted connections still open: its own and, for a forked copy, its parent's. */
  inbound: Conn[];
  listeners: Conn[];
  id: ToolIdentity | null;
  shell: boolean;
  who: string;
}

const RELAY_TOOLS = ['socat', 'nc', 'ncat', 'netcat', 'nc.openbsd', 'nc.traditional'];

/** A held carrier, then a connect to a loopback service: a reverse tunnel, ranked by the service and who. */
function reverseTunnel({ ev, own, inbound, id, shell, who }: Side): Finding | null {
  const carrier = own.carriers.at(-1);
  if (!carrier) return null;
  const port = ev.conn.remote.port;
  // Any process may hold a Hub or API connection while it reaches a loopback service (a rendezvous
  // store, wandb, an editor's Jupyter client): only ssh, a shell or a tunnel tool rank it high alone.
  let severity: Severity | null =
    port === 22 || shell ? 'critical' : id ? 'high' : isExposedService(port) ? 'medium' : null;
  if (!severity) return null;
  // A server reaching loopback services for the clients it serves is proxying, not tunnelling.
  if (inbound.length > 0 && severity === 'high') severity = 'medium';
  return {
    reason: `${who} holds a connection to ${ep(carrier.conn.remote)} (from ${ep(carrier.conn.local)}) and then connected to the local service ${ep(ev.conn.remote)}${port === 22 ? ' (ssh)' : ''}${shell ? ', itself a shell' : ''}: a reverse tunnel${inbound.length ? `, while serving ${inbound.length} inbound connection(s)` : ''}`,
    evidence: [carrier.id],
    severity,
  };
}

/**
 * A tunnel tool or a shell that accepts connections while holding a carrier (ssh -R style multiplexers,
 * gost), or connects out to a non-loopback peer while an accepted connection is open (socat/netcat
 * relays, one connection out per one in). ssh -L/-D and VS Code's SOCKS proxy accept local
 * connections over their ssh: tunnel.ssh-forward ranks those.
 */
function forwardRelay({ ev, own, inbound, id, shell, who }: Side): Finding | null {
  if (id?.tool === 'ssh' || id?.tool === 'autossh' || !(id || shell)) return null;
  const c = ev.conn;
  const severity: Severity = shell ? 'critical' : 'high';
  if (c.direction === 'in') {
    const carrier = own.carriers.at(-1);
    if (!carrier) return null;
    return {
      reason: `${who} holds a connection to ${ep(carrier.conn.remote)} and accepted ${ep(c.remote)} on ${ep(c.local)}: a relay`,
      evidence: [carrier.id],
      severity,
    };
  }
  const accepted = inbound.at(-1);
  if (!accepted) return null;
  return {
    reason: `${who} accepted ${ep(accepted.conn.remote)} on ${ep(accepted.conn.local)} and then connected to ${ep(c.remote)}: a relay`,
    evidence: [accepted.id],
    severity,
  };
}

/** socat/netcat with no carrier: a listener on every interface relaying to loopback exposes that service. */
function exposedListener({ ev, inbound, listeners, id, who }: Side): Finding | null {
  if (!id || !RELAY_TOOLS.includes(id.tool)) return null;
  const accepted = inbound.at(-1);
  if (!accepted) return null;
  const bound = boundAddress(accepted, listeners);
  if (!isAnyAddress(bound) && isLoopback(bound)) return null;
  return {
    reason: `${who} accepted ${ep(accepted.conn.remote)} on a listener bound to ${bound}:${accepted.conn.local.port} and connected to the local service ${ep(ev.conn.remote)}: a local service exposed on the network`,
    evidence: [accepted.id],
    severity: 'medium',
  };
}

/**
 * A relay by what its sockets do, whatever it is called. A reverse tunnel holds a connection out to a
 * non-loopback peer (its carrier) and, after it, connects to services on loopback for the far end:
 * ranked by the service reached and by who does it. A forward relay holds its carrier and accepts
 * connections to send through it: servers do that too (an API server calling out while it serves), so
 * it counts for a tunnel tool (by name or hash) or a shell. Without a carrier, a socat/netcat
 * listener that takes every interface and connects to loopback exposes a local service on the network.
 */
export const tunnelRelay = defineDetection({
  id: 'tunnel.relay',
  title: 'Relay or tunnel by its connections',
  severity: 'high',
  mitre: ['T1572', 'T1090'],
  on: ['conn'],
  description:
    'A process holding an established connection to a non-loopback peer that then connects to a local service (reverse tunnel), or, for tunnel tools and binaries from writable places, accepts connections to relay (forward relay); a socat/netcat listener on every interface relaying to loopback.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'critical when the local service reached is ssh (22) or the relay is a shell; high for a tunnel tool (by name or hash) reaching any local port, and a forward relay; medium for another process reaching a service that hands out access (Jupyter, TensorBoard, …), anything high while the process also serves inbound connections, and a socat/netcat listener on every interface relaying to loopback',
  },
  match(ev, ctx) {
    const c = ev.conn;
    if (c.event !== 'established' || c.direction === null) return null;
    const own = openConnections(ctx.recent(ev.host, ev.proc.pid));
    // socat fork and ncat --keep-open hand each accepted connection to a forked copy of themselves:
    // the copy's relay is judged with its parent's listener and accepts.
    const parent = ev.proc.ancestry[0];
    const forked = parent && parent.exe === ev.proc.exe ? openConnections(ctx.recent(ev.host, parent.pid)) : null;
    const id = tunnelToolOf(ev, ctx);
    const byHash = ctx.toolOf(ev.host, ev.proc);
    const s: Side = {
      ev,
      own,
      inbound: [...own.inbound, ...(forked?.inbound ?? [])],
      listeners: [...own.listeners, ...(forked?.listeners ?? [])],
      id,
      shell: [...namesOf(ev)].some((n) => SHELLS.includes(n)) || (byHash !== undefined && SHELLS.includes(byHash)),
      who: id ? describeTool(id) : exeOf(ev),
    };
    if (c.direction === 'out' && isLoopback(c.remote.addr)) return reverseTunnel(s) ?? exposedListener(s);
    return forwardRelay(s);
  },
});
