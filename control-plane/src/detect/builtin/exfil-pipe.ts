import { SEVERITIES, type EventV1, type ExecEventV1, type Severity } from '@vigil/schema';
import { defineDetection, type DetectionContext, type Finding } from '../define.js';
import { eventCommandLine, hostsIn, namesOf } from '../argv.js';
import { DOWNLOADERS, RAW_SOCKET_TOOLS, WEB_PORTS } from '../indicators.js';
import { ARCHIVERS, credentialIn, FILE_READERS } from '../host-indicators.js';
import { busyboxApplet, endpoint, execOf, isLoopback, pipeIno, who } from './behaviour.js';

const RULE = 'exfil.pipe-to-network';
const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

/**
 * The program's names, with the tool its content is (a renamed copy of ncat is ncat) and busybox's
 * applet (`busybox nc` is nc).
 */
export function namesWithTool(e: ExecEventV1, ctx: DetectionContext): string[] {
  const names = [...namesOf(e)];
  const tool = ctx.toolOf(e.host, e.proc);
  if (tool) names.push(tool);
  if (names.includes('busybox')) names.push(busyboxApplet(e.exec.argv));
  return names;
}

/**
 * A network client that sends its stdin: a raw socket tool (nc, ncat, socat, telnet, openssl
 * s_client) always does; a downloader only when told to upload stdin (`-T -`, `@-`, `/dev/stdin`).
 */
function sender(e: ExecEventV1, ctx: DetectionContext): { kind: 'raw' | 'uploader'; name: string } | undefined {
  const names = namesWithTool(e, ctx);
  const argv = e.exec.argv;
  const raw = names.find((n) => RAW_SOCKET_TOOLS.includes(n) && (n !== 'openssl' || argv.includes('s_client')));
  if (raw) return { kind: 'raw', name: raw };
  const dl = names.find((n) => DOWNLOADERS.includes(n));
  const stdinUpload = argv.some(
    (a, i) =>
      a.endsWith('@-') ||
      a.endsWith('<-') ||
      a.includes('/dev/stdin') ||
      (a === '-' && ['-T', '--upload-file'].includes(argv[i - 1] ?? '')),
  );
  return dl && stdinUpload ? { kind: 'uploader', name: dl } : undefined;
}

/** What the writer feeds the pipe: an archive or encoding of files, or a credential file read. */
function source(w: ExecEventV1, ctx: DetectionContext): { what: string; cred?: string } | undefined {
  const names = namesWithTool(w, ctx);
  const argv = w.exec.argv;
  const cred = argv.slice(1).map(credentialIn).find(Boolean);
  const archiver = names.find((n) => ARCHIVERS.includes(n) && (n !== 'openssl' || !argv.includes('s_client')));
  const reader = names.find((n) => FILE_READERS.includes(n));
  if (cred) return { what: `${archiver ?? reader ?? w.proc.comm} reading credential file ${cred}`, cred };
  if (archiver) return { what: `an archive or encoding by ${archiver}` };
  return undefined;
}

/** Where the sender's data went: its connections, else the hosts its command line names. */
function destination(s: ExecEventV1, current: EventV1, ctx: DetectionContext) {
  const history =
    current.proc.pid === s.proc.pid && current.kind !== 'exec'
      ? [...ctx.recent(s.host, s.proc.pid), current]
      : ctx.recent(s.host, s.proc.pid);
  for (const e of history) {
    if (e.kind === 'connect') return { addr: e.connect.daddr, port: e.connect.dport, eventId: e.id };
    if (e.kind === 'conn' && e.conn.event === 'established' && e.conn.direction === 'out')
      return { ...e.conn.remote, eventId: e.id };
  }
  return undefined;
}

/** The hosts a command line sends to: its URLs' hosts when it has URLs, else its dotted names. */
function destinationHosts(line: string): string[] {
  const urls = Array.from(line.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[^/:\s'"?]+)/gi), (m) =>
    m[1]!.toLowerCase(),
  );
  return urls.length > 0 ? urls : hostsIn(line).filter((h) => !/^\d+\.\d+$/.test(h));
}

function judge(w: ExecEventV1, s: ExecEventV1, ino: number, current: EventV1, ctx: DetectionContext): Finding | null {
  const client = sender(s, ctx);
  const from = client && source(w, ctx);
  if (!client || !from) return null;
  const line = eventCommandLine(s.exec.argv).slice(0, 200);
  const peer = destination(s, current, ctx);
  const hosts = destinationHosts(line);
  const far = peer ? !isLoopback(peer.addr) : hosts.length === 0 ? null : hosts.some((h) => !isLoopback(h));
  let severity: Severity;
  if (from.cred) severity = far === true ? 'critical' : 'high';
  else if (client.kind === 'raw') severity = far === true ? 'high' : 'medium';
  else {
    const odd =
      (peer !== undefined && !WEB_PORTS.includes(peer.port)) || hosts.some((h) => IP_LITERAL.test(h) && !isLoopback(h));
    severity = far === true && odd ? 'high' : 'medium';
  }
  const to = peer ? ` to ${endpoint(peer)}${isLoopback(peer.addr) ? ' (loopback)' : ''}` : '';
  return {
    reason: `${client.name} ${who(s.proc)} sends over the network what ${who(w.proc)} writes into pipe ${ino} (${from.what}: \`${eventCommandLine(w.exec.argv).slice(0, 160)}\`)${to}: \`${line}\``,
    severity,
    proc: s.proc,
    subject: `pipe:${ino}:${severity}`,
    evidence: [w.id, s.id, ...(peer ? [peer.eventId] : [])],
  };
}

/** Execs with pipe `ino` on fd `fd`, besides the process `pid`. */
const ends = (ctx: DetectionContext, host: string, ino: number, fd: number, pid: number) =>
  ctx.stdioPeers(host, ino).filter((e) => e.proc.pid !== pid && pipeIno(e, fd) === ino);

/** Every pipe between the exec `e` (writer or sender) and the other ends recorded so far. */
function pairs(e: ExecEventV1, current: EventV1, ctx: DetectionContext): (Finding | null)[] {
  const found: (Finding | null)[] = [];
  const in0 = pipeIno(e, 0);
  const out1 = pipeIno(e, 1);
  if (in0 !== undefined)
    for (const w of ends(ctx, e.host, in0, 1, e.proc.pid)) found.push(judge(w, e, in0, current, ctx));
  if (out1 !== undefined)
    for (const s of ends(ctx, e.host, out1, 0, e.proc.pid)) found.push(judge(e, s, out1, current, ctx));
  return found;
}

/**
 * Files leaving through a pipe: an archiver or encoder (tar, zip, base64, gpg, …), or any reader of a
 * credential file, writing into the stdin of a network client that sends it (nc, socat, `curl
 * --data-binary @-`, `curl -T -`). Paired by the pipe's inode, whichever end's exec or the sender's
 * connect comes first; the alert is about the sender.
 */
export const exfilPipeToNetwork = defineDetection({
  id: RULE,
  title: 'Files or credentials piped into a network client',
  severity: 'high',
  mitre: ['T1048', 'T1560.001', 'T1552.001'],
  on: ['exec', 'connect', 'conn'],
  description:
    'A network client (raw socket tool, or a downloader uploading its stdin) whose stdin is the pipe an archiver/encoder or a reader of a credential file writes.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'critical for credential files sent off this host, high for credential files on loopback or before a peer is known, a raw socket tool sending an archive off this host, or an upload to an address or odd port off this host; medium otherwise (an archive uploaded to a named web host or on loopback)',
  },
  match(ev, ctx) {
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    let found: (Finding | null)[] = [];
    if (ev.kind === 'exec') found = pairs(ev, ev, ctx);
    else if (ev.kind === 'connect' || (ev.conn.event === 'established' && ev.conn.direction === 'out')) {
      const e = execOf(ctx.recent(ev.host, ev.proc.pid));
      if (e) found = pairs(e, ev, ctx);
    }
    let best: Finding | null = null;
    for (const f of found)
      if (f && (!best || SEVERITIES.indexOf(f.severity!) > SEVERITIES.indexOf(best.severity!))) best = f;
    return best;
  },
});
