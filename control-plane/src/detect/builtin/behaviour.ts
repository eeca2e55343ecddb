import type { EventV1, ExecEventV1, ProcessV1, StdioFdV1 } from '@vigil/schema';
import type { DetectionContext } from '../define.js';
import { argvOf, basename, namesOf } from '../argv.js';
import { INTERPRETERS, SHELLS } from '../indicators.js';

/*
 * What the behaviour rules (shell.*, exec.*) ask of a process: is it a shell or interpreter (by name
 * or by content), what sockets and pipes its stdio is, which peers it talks to.
 */

export const isShellName = (name: string): boolean =>
  (SHELLS.includes(name) && name !== 'busybox') || INTERPRETERS.some((re) => re.test(name));

/** What makes a process a shell or interpreter: its name, or its content (a renamed copy). */
export interface ShellIdentity {
  /** The shell or interpreter it is: "bash", "python3", … */
  name: string;
  /** For a reason: "bash (pid 7)" or "/tmp/.x/kworker (pid 7), a renamed copy of bash by content hash". */
  text: string;
}

/** busybox's applet: argv[0]'s basename when it is not busybox itself, else argv[1]. */
export function busyboxApplet(argv: readonly string[]): string {
  const first = basename(argv[0] ?? '').toLowerCase();
  return first !== 'busybox' ? first : basename(argv[1] ?? '').toLowerCase();
}

/** The shell or interpreter an event's process runs, by name or by its content hash; undefined if none. */
export function shellOf(ev: EventV1, ctx: DetectionContext): ShellIdentity | undefined {
  const names = namesOf(ev);
  const who = `${ev.proc.exe || ev.proc.comm} (pid ${ev.proc.pid})`;
  if (names.has('busybox')) {
    const applet = busyboxApplet(argvOf(ev));
    if (isShellName(applet)) return { name: `busybox ${applet}`, text: `busybox ${applet} (pid ${ev.proc.pid})` };
  }
  const named = [...names].find(isShellName);
  const tool = ctx.toolOf(ev.host, ev.proc);
  if (tool && isShellName(tool) && !names.has(tool))
    return { name: tool, text: `${who}, a renamed copy of ${tool} (same content hash as the host's ${tool})` };
  if (named) return { name: named, text: `${named} ${who}` };
  return undefined;
}

export type SocketFd = StdioFdV1 & {
  type: 'tcp' | 'udp';
  local: NonNullable<StdioFdV1['local']>;
  remote: NonNullable<StdioFdV1['remote']>;
};

/** The connected inet sockets on an exec's fds 0-2 (a listener's or an unconnected socket's peer is port 0). */
export const socketFds = (ev: ExecEventV1): SocketFd[] =>
  (ev.exec.stdio ?? []).filter(
    (f): f is SocketFd =>
      (f.type === 'tcp' || f.type === 'udp') && f.local !== undefined && f.remote !== undefined && f.remote.port !== 0,
  );

export const stdioFd = (ev: ExecEventV1, fd: number): StdioFdV1 | undefined => ev.exec.stdio?.find((f) => f.fd === fd);

/** The anonymous pipe inode on an exec's fd, if that fd is one. */
export function pipeIno(ev: ExecEventV1, fd: number): number | undefined {
  const f = stdioFd(ev, fd);
  return f && (f.type === 'pipe' || f.type === 'fifo') && f.ino ? f.ino : undefined;
}

/** This host: 127.0.0.0/8, ::1, the unspecified address (connecting to it reaches this host), v4-mapped forms. */
export function isLoopback(addr: string): boolean {
  const a = addr.toLowerCase().replace(/^::ffff:/, '');
  return a.startsWith('127.') || a === '::1' || a === '0.0.0.0' || a === '::' || a === 'localhost';
}

export const endpoint = (e: { addr: string; port: number }): string =>
  e.addr.includes(':') ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;

/** A peer a process connected out to, and the event that showed it. */
export interface Peer {
  addr: string;
  port: number;
  /** The name a DNS answer gave for addr, when the dns probe saw one. */
  hostname?: string;
  /** The peer connected to this process's listener (conn established in). */
  accepted?: boolean;
  eventId: string;
}

/**
 * The peers a process's events show it connected out to (connect, conn established out; with
 * `accepted`, also conn established in), in order, less those whose close came after (conn close of
 * the same local and remote).
 */
export function outboundPeers(events: readonly EventV1[], accepted = false): Peer[] {
  const open = new Map<string, Peer>();
  for (const e of events) {
    if (e.kind === 'connect' && (e.connect.ret === null || e.connect.ret === 0 || e.connect.ret === -115)) {
      const p: Peer = { addr: e.connect.daddr, port: e.connect.dport, eventId: e.id };
      if (e.connect.hostname) p.hostname = e.connect.hostname;
      open.set(`c|${endpoint(p)}|${e.id}`, p);
    } else if (e.kind === 'conn' && (e.conn.direction === 'out' || (accepted && e.conn.direction === 'in'))) {
      const key = `${endpoint(e.conn.local)}|${endpoint(e.conn.remote)}`;
      if (e.conn.event === 'established')
        open.set(key, { ...e.conn.remote, eventId: e.id, ...(e.conn.direction === 'in' ? { accepted: true } : {}) });
      else if (e.conn.event === 'close') open.delete(key);
    }
  }
  return [...open.values()];
}

/** The peer to tell of: the first one off this host, else the first. */
export const worstPeer = <T extends { addr: string }>(peers: readonly T[]): T | undefined =>
  peers.find((p) => !isLoopback(p.addr)) ?? peers[0];

/** The exec that started a process, from its history (the newest one). */
export function execOf(events: readonly EventV1[]): ExecEventV1 | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind === 'exec') return e;
  }
  return undefined;
}

/** "curl (pid 7)" for a reason. */
export const who = (p: ProcessV1): string => `${p.comm || basename(p.exe)} (pid ${p.pid})`;
