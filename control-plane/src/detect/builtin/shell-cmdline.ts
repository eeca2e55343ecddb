import { defineDetection } from '../define.js';
import { eventCommandLine, exeOf, namesOf } from '../argv.js';
import { SHELLS } from '../indicators.js';
import { endpoint, isLoopback, outboundPeers, socketFds } from './behaviour.js';

const RULE = 'shell.reverse-cmdline';

type OneLiner = { what: string; test: (names: ReadonlySet<string>, text: string) => boolean };

const any = (names: ReadonlySet<string>, re: RegExp) => [...names].some((n) => re.test(n));

/**
 * A /dev/tcp or /dev/udp path toward a host off this one, used for a shell's stdio: `>& /dev/tcp/…`,
 * `0>&1`, `<&5` after `exec 5<>/dev/tcp/…`. A wait-for-port loop (`</dev/tcp/localhost/8000`) or a
 * health check (`echo > /dev/tcp/127.0.0.1/80`) is neither.
 */
function devTcpStdio(text: string): boolean {
  const far = Array.from(text.matchAll(/\/dev\/(?:tcp|udp)\/([^/\s]+)\/\d+/g), (m) => m[1]!).some(
    (h) => !isLoopback(h),
  );
  return far && /(?:[0-2]?>&\s*\/dev\/(?:tcp|udp)|&>\s*\/dev\/(?:tcp|udp)|[0-2]?[<>]&\s*[0-9]\b)/.test(text);
}

export const REVERSE_SHELL_PATTERNS: OneLiner[] = [
  { what: '/dev/tcp or /dev/udp redirection of a shell’s stdio', test: (_n, t) => devTcpStdio(t) },
  {
    what: 'python socket one-liner',
    // A socket alone is no shell (`s.connect(('8.8.8.8', 80)); s.getsockname()` finds this host's
    // address): the one-liner must also hand the socket to a shell or run commands.
    test: (n, t) =>
      any(n, /^python/) &&
      /\bsocket\b/.test(t) &&
      /(subprocess|pty\.spawn|os\.dup2|os\.system|os\.popen|os\.exec|\bexec\()/.test(t),
  },
  {
    what: 'perl socket one-liner',
    test: (n, t) => n.has('perl') && /Socket|socket\(/.test(t) && /(exec|system|open\()/.test(t),
  },
  { what: 'ruby socket one-liner', test: (n, t) => n.has('ruby') && /(-rsocket|TCPSocket)/.test(t) },
  { what: 'php fsockopen one-liner', test: (n, t) => any(n, /^php/) && /fsockopen|stream_socket_client/.test(t) },
  { what: 'awk /inet/ one-liner', test: (n, t) => any(n, /awk$/) && /\/inet\/(tcp|udp)\//.test(t) },
  { what: 'lua socket one-liner', test: (n, t) => any(n, /^lua/) && /socket/.test(t) && /(execute|popen)/.test(t) },
  {
    what: 'named pipe piped through netcat',
    test: (_n, t) => /mkfifo|mknod\s+\S+\s+p\b/.test(t) && /\b(nc|ncat|netcat|telnet|openssl\s+s_client)\b/.test(t),
  },
  {
    what: 'shell piped through telnet/openssl',
    test: (_n, t) => /\b(telnet|openssl\s+s_client)\b[^|]*\|\s*\/?(bin\/)?(ba|da|z)?sh\b/.test(t),
  },
];

/**
 * Reverse-shell one-liners in a command line. Secondary to the behaviour rules (shell.reverse,
 * shell.pipe-from-network), since argv is the attacker's to write: high on the text alone, critical
 * once the process is seen connecting to a peer off this host (or started with such a socket on its
 * stdio).
 */
export const shellReverseCmdline = defineDetection({
  id: RULE,
  title: 'Reverse-shell one-liner',
  severity: 'high',
  mitre: ['T1059.004', 'T1071'],
  on: ['exec', 'connect', 'conn'],
  description:
    '/dev/tcp and /dev/udp redirections of stdio toward another host, interpreter one-liners with sockets, mkfifo with netcat.',
  ranks: { min: 'high', max: 'critical', rule: 'critical once the process connects to a peer off this host' },
  match(ev, ctx) {
    // A connect counts only from a process whose exec (or whose parent's, for a forked subshell) raised this.
    if (
      ev.kind !== 'exec' &&
      !ctx.flagged(ev.host, ev.proc.pid).has(RULE) &&
      !ctx.flagged(ev.host, ev.proc.ppid).has(RULE)
    )
      return null;
    const argv = ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv;
    const names = namesOf(ev);
    const text = eventCommandLine(argv);
    const hit = REVERSE_SHELL_PATTERNS.find((p) => p.test(names, text));
    if (!hit) return null;
    const shell = [...names].find((n) => SHELLS.includes(n));
    const said = `${hit.what} in ${shell ?? exeOf(ev)} (pid ${ev.proc.pid}): ${text.slice(0, 300)}`;
    if (ev.kind === 'exec') {
      const far = socketFds(ev).find((f) => !isLoopback(f.remote.addr));
      if (!far) return { reason: said };
      return { reason: `${said}; its fd ${far.fd} is a socket to ${endpoint(far.remote)}`, severity: 'critical' };
    }
    if (ev.kind === 'conn' && !(ev.conn.event === 'established' && ev.conn.direction === 'out')) return null;
    const peer = outboundPeers([ev])[0];
    if (!peer || isLoopback(peer.addr)) return null;
    return {
      reason: `${said}; it connected to ${endpoint(peer)}`,
      severity: 'critical',
      subject: 'connected',
    };
  },
});
