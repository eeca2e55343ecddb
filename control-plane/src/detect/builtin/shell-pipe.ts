import { SEVERITIES, type EventV1, type ExecEventV1, type Severity } from '@vigil/schema';
import { defineDetection, type DetectionContext, type Finding } from '../define.js';
import { eventCommandLine, namesOf } from '../argv.js';
import { DOWNLOADERS, RAW_SOCKET_TOOLS, WEB_PORTS } from '../indicators.js';
import {
  endpoint,
  execOf,
  isLoopback,
  outboundPeers,
  pipeIno,
  shellOf,
  who,
  worstPeer,
  type Peer,
} from './behaviour.js';

const RULE = 'shell.pipe-from-network';

/** What feeds the shell: a raw socket tool, a downloader, or another program seen connecting. */
function writerKind(w: ExecEventV1, ctx: DetectionContext): { kind: 'raw' | 'downloader' | 'other'; name: string } {
  const names = [...namesOf(w)];
  const tool = ctx.toolOf(w.host, w.proc);
  if (tool) names.push(tool);
  // openssl is a raw socket only as s_client; `openssl enc -d | sh` decodes a file.
  const raw = names.find((n) => RAW_SOCKET_TOOLS.includes(n) && (n !== 'openssl' || w.exec.argv.includes('s_client')));
  if (raw) return { kind: 'raw', name: raw };
  const dl = names.find((n) => DOWNLOADERS.includes(n));
  if (dl) return { kind: 'downloader', name: dl };
  return { kind: 'other', name: w.proc.comm };
}

const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

/** The host and port of the first URL in a command line. */
function urlOf(text: string): { host: string; port: number } | undefined {
  const m = /\b(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^/:\s'"]+)(?::(\d+))?/.exec(text);
  if (!m) return undefined;
  return { host: m[2]!.toLowerCase(), port: m[3] ? Number(m[3]) : m[1] === 'https' ? 443 : 80 };
}

/** Dotted names or addresses in a command line (where a raw tool connects, before any connect is seen). */
const argvHosts = (text: string): string[] =>
  Array.from(
    text.toLowerCase().matchAll(/(?:^|[\s@/=:])((?:[a-z0-9-]+\.)+[a-z0-9-]+|localhost)(?=[\s:/]|$)/g),
    (m) => m[1]!,
  );

const higher = (a: Severity, b: Severity): boolean => SEVERITIES.indexOf(a) > SEVERITIES.indexOf(b);

/**
 * Judges one pipe: shell `s` reads fd 0 from the pipe whose writer `w` has it on fd 1. `current` is
 * the event being evaluated (a connect of the writer is not yet in its history).
 */
function judge(s: ExecEventV1, w: ExecEventV1, ino: number, current: EventV1, ctx: DetectionContext): Finding | null {
  const shell = shellOf(s, ctx);
  if (!shell) return null;
  const history =
    current.proc.pid === w.proc.pid && current.kind !== 'exec'
      ? [...ctx.recent(w.host, w.proc.pid), current]
      : ctx.recent(w.host, w.proc.pid);
  const peers = outboundPeers(history);
  const { kind, name } = writerKind(w, ctx);
  if (kind === 'other' && peers.length === 0) return null;
  const line = eventCommandLine(w.exec.argv).slice(0, 200);
  const peer: Peer | undefined = worstPeer(peers);
  const url = urlOf(line);
  const hosts = argvHosts(line);
  // Where it went: the connection seen, else what its command line names.
  const far = peer ? !isLoopback(peer.addr) : hosts.length === 0 ? null : hosts.some((h) => !isLoopback(h));
  let severity: Severity;
  if (kind === 'downloader') {
    const port = peer?.port ?? url?.port;
    const namedWeb = url !== undefined && !IP_LITERAL.test(url.host) && port !== undefined && WEB_PORTS.includes(port);
    severity = far === false || namedWeb ? 'medium' : 'high';
  } else if (kind === 'other' && peers.every((p) => WEB_PORTS.includes(p.port))) {
    severity = far === false ? 'medium' : 'high';
  } else {
    severity = far === true ? 'critical' : 'high';
  }
  const what =
    kind === 'raw' ? `a raw socket tool (${name})` : kind === 'downloader' ? `a downloader (${name})` : 'a program';
  const to = peer
    ? `, which connected to ${endpoint(peer)}${peer.hostname ? ` (${peer.hostname})` : ''}${isLoopback(peer.addr) ? ' (loopback)' : ''}`
    : '';
  return {
    reason: `${shell.text} reads its stdin (fd 0) from pipe ${ino}, written by ${what} ${who(w.proc)} on its fd 1${to}: \`${line}\``,
    severity,
    proc: s.proc,
    subject: `pipe:${ino}:${severity}`,
    evidence: [s.id, w.id, ...(peer ? [peer.eventId] : [])],
  };
}

/** The shells reading `ino` on fd 0 and the writers writing it on fd 1, besides the process `pid`. */
const readers = (ctx: DetectionContext, host: string, ino: number, pid: number) =>
  ctx.stdioPeers(host, ino).filter((e) => e.proc.pid !== pid && pipeIno(e, 0) === ino);
const writers = (ctx: DetectionContext, host: string, ino: number, pid: number) =>
  ctx.stdioPeers(host, ino).filter((e) => e.proc.pid !== pid && pipeIno(e, 1) === ino);

/**
 * A shell or interpreter whose stdin is a pipe fed by a process that talks to the network: `nc host
 * port | sh`, `curl … | bash`, `openssl s_client … | sh`. The pipe is paired by inode (both ends
 * share it), whichever of the shell's exec, the writer's exec or the writer's connect comes first;
 * the alert is about the shell, one per pipe and rank.
 */
export const shellPipeFromNetwork = defineDetection({
  id: RULE,
  title: 'Shell reading commands from the network through a pipe',
  severity: 'critical',
  mitre: ['T1059.004', 'T1105'],
  on: ['exec', 'connect', 'conn'],
  description:
    'A shell/interpreter whose fd 0 is the pipe a network client (nc, ncat, socat, openssl s_client, curl, wget, or any program seen connecting) writes on its fd 1.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'critical for a raw socket tool or unknown program toward a peer off this host; high on loopback or a downloader to an address or odd port; medium for a downloader from a named web host (installer scripts) or loopback',
  },
  match(ev, ctx) {
    const found: (Finding | null)[] = [];
    if (ev.kind === 'exec') {
      const in0 = pipeIno(ev, 0);
      if (in0 !== undefined && shellOf(ev, ctx))
        for (const w of writers(ctx, ev.host, in0, ev.proc.pid)) found.push(judge(ev, w, in0, ev, ctx));
      const out1 = pipeIno(ev, 1);
      if (out1 !== undefined)
        for (const s of readers(ctx, ev.host, out1, ev.proc.pid)) found.push(judge(s, ev, out1, ev, ctx));
    } else if (ev.kind === 'connect' || (ev.conn.event === 'established' && ev.conn.direction === 'out')) {
      const w = execOf(ctx.recent(ev.host, ev.proc.pid));
      const out1 = w && pipeIno(w, 1);
      if (w && out1 !== undefined)
        for (const s of readers(ctx, ev.host, out1, ev.proc.pid)) found.push(judge(s, w, out1, ev, ctx));
    }
    let best: Finding | null = null;
    for (const f of found) if (f && (!best || higher(f.severity!, best.severity!))) best = f;
    return best;
  },
});
