import type { Severity } from '@vigil/schema';
import { GIT_SSH_COMMANDS } from '../indicators.js';
import { isLoopback } from './tunnel-grammar.js';

/** ssh options that take an argument (from ssh(1)); a flag cluster stops at the first of them. */
const SSH_ARG_FLAGS = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

/** One thing in an ssh invocation or config that forwards, proxies or runs something, ranked. */
export interface SshForward {
  /** The grammar element: "remote forward (-R 9000:localhost:22)", "RemoteForward 9000 localhost:22". */
  what: string;
  severity: Severity;
  /** Where it was read: "the command line", or "/tmp/cfg line 3". */
  where: string;
}

/** What an ssh command line says: its forwards, the host it goes to, the command it runs there. */
export interface SshInvocation {
  forwards: SshForward[];
  /** The destination as written (user@ and ssh:// stripped); null when none was found. */
  host: string | null;
  /** The remote command's words. */
  command: string[];
  /** The -F file, when given. */
  configFile: string | null;
  /** GatewayPorts yes: local forwards listen on every interface. */
  gatewayPorts: boolean;
}

/** `[bind:]port:host:hostport` and the rest of ssh's forward specs, split outside IPv6 brackets. */
function splitSpec(spec: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of spec) {
    if (c === '[') depth++;
    else if (c === ']') depth--;
    if (c === ':' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.replace(/^\[|\]$/g, ''));
}

/**
 * Ranks one forward. A remote forward opens a listener on the far host that reaches into this one:
 * critical when that host is not loopback, high when it is. Local (-L) and dynamic (-D) forwards
 * are how Jupyter, TensorBoard and VS Code Remote are reached: low on loopback, medium when they
 * listen on every interface (a bind address, or GatewayPorts yes).
 */
function rankForward(kind: string, spec: string, host: string | null, gatewayPorts: boolean): Severity {
  const parts = splitSpec(spec.trim().replace(/\s+/, ':'));
  switch (kind) {
    case 'R':
      return host !== null && isLoopback(host) ? 'high' : 'critical';
    case 'L':
    case 'D': {
      const hasBind = kind === 'L' ? parts.length >= 4 : parts.length >= 2;
      const bind = hasBind ? parts[0]! : null;
      // An empty or `*` bind address is every interface, as is any bind under GatewayPorts yes.
      const open = bind !== null ? !isLoopback(bind) : gatewayPorts;
      return open ? 'medium' : 'low';
    }
    case 'w':
      return 'high';
    default:
      return 'low';
  }
}

const FLAG_WORDS: Record<string, string> = {
  R: 'remote forward',
  L: 'local forward',
  D: 'dynamic SOCKS proxy',
  w: 'tun device forward',
  J: 'jump host',
  W: 'stdio forward',
};

/** `-o Keyword=value` and config lines: the forwarding keywords and how each ranks. */
const OPTION_KINDS: Record<string, string> = {
  remoteforward: 'R',
  localforward: 'L',
  dynamicforward: 'D',
  proxyjump: 'J',
  proxycommand: 'J',
};

/** Ranks one `Keyword value` (from -o or a config file); null when it forwards nothing. */
export function rankOption(
  keyword: string,
  value: string,
  host: string | null,
  gatewayPorts: boolean,
): { severity: Severity; what: string } | null {
  const key = keyword.toLowerCase();
  const v = value.trim();
  const text = `${keyword} ${v}`;
  const kind = OPTION_KINDS[key];
  if (kind) return { severity: rankForward(kind, v, host, gatewayPorts), what: text };
  if (key === 'tunnel' && !/^no$/i.test(v)) return { severity: 'high', what: text };
  if (key === 'gatewayports' && /^(yes|clientspecified)$/i.test(v)) return { severity: 'medium', what: text };
  if (key === 'permitlocalcommand' && /^yes$/i.test(v)) return { severity: 'medium', what: text };
  return null;
}

const splitOption = (kv: string): [string, string] => {
  const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(kv);
  return m ? [m[1]!, m[2]!] : [kv.trim(), ''];
};

/** The host of an ssh destination: `user@host`, `ssh://user@host:port`. */
export function destinationHost(dest: string): string {
  const url = /^ssh:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:]*)/.exec(dest);
  if (url) return url[1]!.replace(/^\[|\]$/g, '');
  return dest.slice(dest.lastIndexOf('@') + 1);
}

/** Reads an ssh command line (argv[0] is the program) as ssh(1) does. */
export function parseSsh(argv: readonly string[]): SshInvocation {
  const raw: { kind: string; spec: string; flag: string }[] = [];
  const options: [string, string][] = [];
  let dest: string | null = null;
  let configFile: string | null = null;
  /** -g: remote hosts may connect to local forwards (GatewayPorts yes). */
  let dashG = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a.length < 2) break;
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      if (f === 'g') dashG = true;
      if (!SSH_ARG_FLAGS.has(f)) continue;
      const value = j + 1 < a.length ? a.slice(j + 1) : (argv[++i] ?? '');
      if (f === 'o') options.push(splitOption(value));
      else if (f === 'F') configFile = value;
      else if (FLAG_WORDS[f]) raw.push({ kind: f, spec: value, flag: `-${f} ${value}` });
      break;
    }
  }
  if (i < argv.length) dest = argv[i++]!;
  const host = dest === null ? null : destinationHost(dest);
  const gatewayPorts = dashG || options.some(([k, v]) => k.toLowerCase() === 'gatewayports' && /^yes$/i.test(v.trim()));
  const forwards: SshForward[] = raw.map((r) => ({
    what: `${FLAG_WORDS[r.kind]} (${r.flag})`,
    severity: rankForward(r.kind, r.spec, host, gatewayPorts),
    where: 'the command line',
  }));
  for (const [k, v] of options) {
    const r = rankOption(k, v, host, gatewayPorts);
    if (r) forwards.push({ what: `-o ${r.what}`, severity: r.severity, where: 'the command line' });
  }
  return { forwards, host, command: argv.slice(i), configFile, gatewayPorts };
}

/** An ssh that runs git's remote side (git clone/fetch/push over ssh, git-lfs). */
export function isGitTransport(inv: SshInvocation): boolean {
  const first = inv.command.join(' ').trim().split(/\s+/)[0] ?? '';
  return GIT_SSH_COMMANDS.includes(first.replace(/^['"]|['"]$/g, ''));
}

/** One config line as the sensor reports it: `12: RemoteForward 9000 localhost:22` or without a number. */
function splitDirective(line: string): { n: number | null; key: string; value: string } {
  const m = /^(?:(\d+):\s*)?([A-Za-z]+)\s*(?:=\s*|\s+)?(.*)$/.exec(line.trim());
  if (!m) return { n: null, key: '', value: '' };
  return { n: m[1] ? Number(m[1]) : null, key: m[2]!, value: m[3] ?? '' };
}

/**
 * ssh's `*` and `?` patterns, matched without a regular expression: the patterns and the host are
 * the workload's, and `*` repeated in a regex backtracks exponentially on a host that does not match.
 * Greedy with one remembered star: O(pattern × host).
 */
export function globMatches(glob: string, text: string): boolean {
  const g = glob.toLowerCase();
  const t = text.toLowerCase();
  let gi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (gi < g.length && (g[gi] === '?' || g[gi] === t[ti])) {
      gi++;
      ti++;
    } else if (gi < g.length && g[gi] === '*') {
      star = gi++;
      mark = ti;
    } else if (star >= 0) {
      gi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (gi < g.length && g[gi] === '*') gi++;
  return gi === g.length;
}

/** Whether a `Host` line's patterns take this host (null: unknown, so every block may apply). */
function hostMatches(patterns: string, host: string | null): boolean {
  if (host === null) return true;
  let hit = false;
  for (const p of patterns.split(/[\s,]+/).filter(Boolean)) {
    const negated = p.startsWith('!');
    if (globMatches(negated ? p.slice(1) : p, host)) {
      if (negated) return false;
      hit = true;
    }
  }
  return hit;
}

/**
 * The forwards an ssh config file gives a connection to `host`: lines before any `Host`, and those in
 * the blocks whose patterns take it (every block when the host is unknown; a `Match` block may
 * apply, so it counts). A `HostName` in a block that applies is the host the forwards are judged by.
 */
export function sshConfigForwards(
  path: string,
  directives: readonly string[],
  host: string | null,
): { forwards: SshForward[]; target: string | null } {
  const lines = directives.map(splitDirective);
  let applies = true;
  let target = host;
  for (const l of lines) {
    const key = l.key.toLowerCase();
    if (key === 'host') applies = hostMatches(l.value, host);
    else if (key === 'match') applies = true;
    else if (key === 'hostname' && applies) target = l.value.trim();
  }
  const gatewayPorts = lines.some((l) => l.key.toLowerCase() === 'gatewayports' && /^yes$/i.test(l.value.trim()));
  const out: SshForward[] = [];
  applies = true;
  lines.forEach((l, idx) => {
    const key = l.key.toLowerCase();
    if (key === 'host') applies = hostMatches(l.value, host);
    else if (key === 'match') applies = true;
    if (!applies) return;
    const r = rankOption(l.key, l.value, target, gatewayPorts);
    if (r)
      out.push({
        what: r.what,
        severity: r.severity,
        where: l.n !== null ? `${path} line ${l.n}` : `${path} (directive ${idx + 1})`,
      });
  });
  return { forwards: out, target };
}
