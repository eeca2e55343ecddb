import { SEVERITIES, type EventV1, type ExecEventV1, type Severity } from '@vigil/schema';
import { defineDetection, type DetectionContext, type Finding } from '../define.js';
import { eventCommandLine, inWritablePlace, namesOf } from '../argv.js';
import { DOWNLOADERS, RAW_SOCKET_TOOLS, SHELLS, WEB_PORTS } from '../indicators.js';
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

/** A program that was dropped rather than installed: fileless, just written, or in a writable place. */
const dropped = (e: ExecEventV1): boolean =>
  e.proc.fileless === true ||
  e.proc.exeRecentlyWritten === true ||
  e.proc.exeInWritableDir === true ||
  inWritablePlace(e.proc.exe);

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
 * One pipe between shell `s` and a network client `n`: `in`, the shell reads fd 0 from the pipe `n`
 * writes on its fd 1; `out`, the shell writes fd 1 into the pipe `n` reads on its fd 0 while its own
 * stdin is a pipe too (the mkfifo loop: `cat f | sh -i | nc host port > f`). `current` is the event
 * being evaluated (a connect of `n` is not yet in its history).
 */
function judge(
  s: ExecEventV1,
  n: ExecEventV1,
  ino: number,
  dir: 'in' | 'out',
  current: EventV1,
  ctx: DetectionContext,
): Finding | null {
  const shell = shellOf(s, ctx);
  if (!shell) return null;
  const history =
    current.proc.pid === n.proc.pid && current.kind !== 'exec'
      ? [...ctx.recent(n.host, n.proc.pid), current]
      : ctx.recent(n.host, n.proc.pid);
  const peers = outboundPeers(history, true);
  const { kind, name } = writerKind(n, ctx);
  if (kind === 'other' && peers.length === 0) return null;
  // A shell's output uploaded by a downloader is a report, not a remote shell.
  if (dir === 'out' && kind === 'downloader') return null;
  const line = eventCommandLine(n.exec.argv).slice(0, 200);
  const peer: Peer | undefined = worstPeer(peers);
  const url = urlOf(line);
  const hosts = argvHosts(line);
  // Where it went: the connection seen, else the URL's host (its path's `install.sh` is no host),
  // else the names in its command line.
  const far = peer
    ? !isLoopback(peer.addr)
    : url
      ? !isLoopback(url.host.replace(/^\[|\]$/g, ''))
      : hosts.length === 0
        ? null
        : hosts.some((h) => !isLoopback(h));
  let severity: Severity;
  if (kind === 'downloader') {
    const port = peer?.port ?? url?.port;
    const namedWeb = url !== undefined && !IP_LITERAL.test(url.host) && port !== undefined && WEB_PORTS.includes(port);
    severity = far === false || namedWeb ? 'medium' : 'high';
  } else if (kind === 'other' && !dropped(n)) {
    // An installed program that talks to the network (a trainer with its peers) piping into a shell.
    severity = far === false ? 'medium' : 'high';
  } else if (kind === 'other' && peers.every((p) => WEB_PORTS.includes(p.port))) {
    severity = far === false ? 'medium' : 'high';
  } else {
    severity = far === true ? 'critical' : 'high';
  }
  const what =
    kind === 'raw' ? `a raw socket tool (${name})` : kind === 'downloader' ? `a downloader (${name})` : 'a program';
  const to = peer
    ? `, which ${peer.accepted ? 'accepted a connection from' : 'connected to'} ${endpoint(peer)}${peer.hostname ? ` (${peer.hostname})` : ''}${isLoopback(peer.addr) ? ' (loopback)' : ''}`
    : '';
  const how =
    dir === 'in'
      ? `reads its stdin (fd 0) from pipe ${ino}, written by ${what} ${who(n.proc)} on its fd 1`
      : `writes its stdout (fd 1) into pipe ${ino}, read by ${what} ${who(n.proc)} on its fd 0, while its stdin is pipe ${pipeIno(s, 0)}`;
  return {
    reason: `${shell.text} ${how}${to}: \`${line}\``,
    severity,
    proc: s.proc,
    subject: `pipe:${ino}:${severity}`,
    evidence: [s.id, n.id, ...(peer ? [peer.eventId] : [])],
  };
}

/** Execs with pipe `ino` on fd `fd`, besides the process `pid`. */
const ends = (ctx: DetectionContext, host: string, ino: number, fd: number, pid: number) =>
  ctx.stdioPeers(host, ino).filter((e) => e.proc.pid !== pid && pipeIno(e, fd) === ino);

/**
 * Whether a shell or interpreter reads its commands from stdin: not when handed them (`-c`, `-e`,
 * `-r`, `-m`) or a script file; `-s` and `-` say stdin. `sh -c gzip`, which tar starts with its
 * archive on stdin, reads data there, not commands.
 */
export function commandsFromStdin(argv: readonly string[], shell: boolean): boolean {
  // A shell takes its commands with -c only (-e, -m are its errexit and monitor options).
  const given = shell ? /^-[a-zA-Z]*c[a-zA-Z]*$/ : /^-[a-zA-Z]*[cemrEp][a-zA-Z]*$/;
  for (const a of argv.slice(1)) {
    if (a === '-s' || a === '-') return true;
    if (a === '--') return false;
    if (given.test(a)) return false;
    if (!a.startsWith('-') && !a.startsWith('+')) return false;
  }
  return true;
}

/**
 * A shell whose fd 1 feeds a pipe counts only when its own stdin is a pipe as well (fed back) and it
 * reads its commands there.
 */
const fedBack = (s: ExecEventV1): boolean =>
  pipeIno(s, 0) !== undefined &&
  commandsFromStdin(
    s.exec.argv,
    [...namesOf(s)].some((n) => SHELLS.includes(n)),
  );

/** Every pipe between the exec `e` (shell or network client) and the other ends recorded so far. */
function pairs(e: ExecEventV1, current: EventV1, ctx: DetectionContext): (Finding | null)[] {
  const found: (Finding | null)[] = [];
  const { host } = e;
  const pid = e.proc.pid;
  const in0 = pipeIno(e, 0);
  const out1 = pipeIno(e, 1);
  if (shellOf(e, ctx)) {
    if (in0 !== undefined)
      for (const w of ends(ctx, host, in0, 1, pid)) found.push(judge(e, w, in0, 'in', current, ctx));
    if (out1 !== undefined && fedBack(e))
      for (const r of ends(ctx, host, out1, 0, pid)) found.push(judge(e, r, out1, 'out', current, ctx));
  }
  if (out1 !== undefined)
    for (const s of ends(ctx, host, out1, 0, pid)) found.push(judge(s, e, out1, 'in', current, ctx));
  if (in0 !== undefined)
    for (const s of ends(ctx, host, in0, 1, pid)) if (fedBack(s)) found.push(judge(s, e, in0, 'out', current, ctx));
  return found;
}

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
    rule: 'critical for a raw socket tool or a dropped program toward a peer off this host; high on loopback, for an installed program seen connecting, or for a downloader to an address or odd port; medium for a downloader from a named web host (installer scripts) or on loopback',
  },
  match(ev, ctx) {
    let found: (Finding | null)[] = [];
    if (ev.kind === 'exec') found = pairs(ev, ev, ctx);
    else if (ev.kind === 'connect' || (ev.conn.event === 'established' && ev.conn.direction !== null)) {
      const e = execOf(ctx.recent(ev.host, ev.proc.pid));
      if (e) found = pairs(e, ev, ctx);
    }
    let best: Finding | null = null;
    for (const f of found) if (f && (!best || higher(f.severity!, best.severity!))) best = f;
    return best;
  },
});
