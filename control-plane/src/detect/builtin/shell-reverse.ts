import type { ExecEventV1 } from '@vigil/schema';
import { defineDetection, type DetectionContext } from '../define.js';
import { SOCKET_STDIO_SERVICES } from '../indicators.js';
import { endpoint, execOf, isLoopback, shellOf, socketFds, stdioFd, type SocketFd } from './behaviour.js';

/** The lowest port Linux hands out as a connection's own end unless told (net.ipv4.ip_local_port_range). */
const EPHEMERAL_PORTS_FROM = 32768;

/**
 * The socket was accepted, not connected: its local port is one this process or its parent listened
 * on (conn listen), or else its local port is a service port and the peer's an ephemeral one.
 */
function accepted(ev: ExecEventV1, fd: SocketFd, ctx: DetectionContext): boolean {
  for (const pid of [ev.proc.pid, ev.proc.ppid])
    for (const e of ctx.recent(ev.host, pid))
      if (
        e.kind === 'conn' &&
        (e.conn.event === 'listen' || e.conn.direction === 'in') &&
        e.conn.local.port === fd.local.port
      )
        return true;
  return fd.remote.port >= EPHEMERAL_PORTS_FROM && fd.local.port < EPHEMERAL_PORTS_FROM;
}

/** "fds 0, 1, 2 are one TCP socket connected to 10.0.0.5:4444": which fds, what, which peer. */
export function describeSocketStdio(fds: readonly SocketFd[], fd: SocketFd, inbound: boolean): string {
  const same = fds.filter((f) => f.remote.addr === fd.remote.addr && f.remote.port === fd.remote.port);
  const which = same.length > 1 ? `fds ${same.map((f) => f.fd).join(', ')} are` : `fd ${fd.fd} is`;
  const how = inbound ? `accepted on ${endpoint(fd.local)} from` : `connected to`;
  return `${which} a ${fd.type.toUpperCase()} socket ${how} ${endpoint(fd.remote)}${isLoopback(fd.remote.addr) ? ' (loopback)' : ''}`;
}

/**
 * A shell on a terminal whose parent was started with its stdio on a network socket: the parent holds
 * the pty's master and relays it to the socket (`script -qc sh`, a pty helper), so the shell's own fds
 * are a tty while whoever is at the socket types its commands. Installed services handed their
 * connection on stdio (sshd's re-exec) start login shells on a pty too and are left out by path.
 */
function ptyRelay(ev: ExecEventV1, ctx: DetectionContext): { parent: ExecEventV1; fds: SocketFd[] } | null {
  if (stdioFd(ev, 0)?.type !== 'tty') return null;
  const parent = execOf(ctx.recent(ev.host, ev.proc.ppid));
  if (!parent || SOCKET_STDIO_SERVICES.some((re) => re.test(parent.proc.exe))) return null;
  const fds = socketFds(parent);
  return fds.length > 0 ? { parent, fds } : null;
}

/**
 * A shell or interpreter started with a network socket as its stdin, stdout or stderr: whoever is at
 * the other end types its commands and reads their output. Keyed on the exec's fd table, not on how
 * the socket got there (/dev/tcp, dup2 in a compiled dropper, nc -e, socat EXEC), and on what the
 * program is by content, so a renamed copy of bash is still bash.
 */
export const shellReverse = defineDetection({
  id: 'shell.reverse',
  title: 'Shell with a network socket for its stdio',
  severity: 'critical',
  mitre: ['T1059.004', 'T1071'],
  on: ['exec'],
  description:
    'A shell or interpreter (by name or by content hash) exec’d with fd 0, 1 or 2 an inet socket: a reverse shell, or a bind shell when the socket was accepted; or exec’d on a terminal by a parent whose own stdio is such a socket (a pty relay: script -qc sh).',
  ranks: { min: 'high', max: 'critical', rule: 'critical toward a peer off this host; high on loopback' },
  match(ev, ctx) {
    const fds = socketFds(ev);
    const shell = shellOf(ev, ctx);
    if (!shell) return null;
    if (fds.length === 0) {
      const relay = ptyRelay(ev, ctx);
      if (!relay) return null;
      const fd = relay.fds.find((f) => !isLoopback(f.remote.addr)) ?? relay.fds[0]!;
      const { proc } = relay.parent;
      return {
        reason: `reverse shell through a pty: ${shell.text} started on a terminal whose parent ${proc.exe || proc.comm} (pid ${proc.pid}) relays it, and the parent's ${describeSocketStdio(relay.fds, fd, false)}`,
        severity: isLoopback(fd.remote.addr) ? 'high' : 'critical',
        evidence: [relay.parent.id],
      };
    }
    const fd = fds.find((f) => !isLoopback(f.remote.addr)) ?? fds[0]!;
    const inbound = accepted(ev, fd, ctx);
    const far = !isLoopback(fd.remote.addr);
    const kind = inbound ? 'bind shell' : 'reverse shell';
    return {
      reason: `${kind}: ${shell.text} started and its ${describeSocketStdio(fds, fd, inbound)}`,
      severity: far ? 'critical' : 'high',
    };
  },
});
