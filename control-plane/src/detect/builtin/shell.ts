import { defineDetection } from '../define.js';
import { eventCommandLine, exeOf, namesOf } from '../argv.js';
import { SHELLS } from '../indicators.js';

type OneLiner = { what: string; test: (names: ReadonlySet<string>, text: string) => boolean };

const any = (names: ReadonlySet<string>, re: RegExp) => [...names].some((n) => re.test(n));

export const REVERSE_SHELL_PATTERNS: OneLiner[] = [
  { what: '/dev/tcp or /dev/udp redirection', test: (_n, t) => /\/dev\/(tcp|udp)\/[^/\s]+\/\d+/.test(t) },
  {
    what: 'python socket one-liner',
    test: (n, t) => any(n, /^python/) && /\bsocket\b/.test(t) && /(subprocess|pty\.spawn|os\.dup2|\.connect\()/.test(t),
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

export const shellReverse = defineDetection({
  id: 'shell.reverse',
  title: 'Reverse shell',
  severity: 'critical',
  mitre: ['T1059.004', 'T1071'],
  on: ['exec'],
  description: '/dev/tcp and /dev/udp redirections, interpreter one-liners with sockets, mkfifo with netcat.',
  match(ev) {
    const names = namesOf(ev);
    const text = eventCommandLine(ev.exec.argv);
    const hit = REVERSE_SHELL_PATTERNS.find((p) => p.test(names, text));
    if (!hit) return null;
    const shell = [...names].find((n) => SHELLS.includes(n));
    return { reason: `${hit.what} in ${shell ?? exeOf(ev)}: ${text}` };
  },
});
