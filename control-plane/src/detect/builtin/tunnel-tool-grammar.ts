import type { Severity } from '@vigil/schema';
import { isAnyAddress, isExposedService, isLoopback, parseEndpoint, urlEndpoint } from './tunnel-grammar.js';

/**
 * The argument grammars of tunnelling tools, recognised whatever the binary is called: a chisel
 * renamed /tmp/update still says `client 10.1.2.3:8080 R:2222:localhost:22`. Each returns what the
 * arguments do and how it ranks, or null when they open no tunnel.
 */
export interface GrammarHit {
  /** The tool the grammar is, and the behaviour with its evidence. */
  tool: string;
  what: string;
  severity: Severity;
}

export type Grammar = (argv: readonly string[], named: boolean) => GrammarHit | null;

/** Value of `--flag value`, `--flag=value` or `-f value`. */
function flagValue(argv: readonly string[], ...flags: string[]): string | null {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (flags.includes(a)) return argv[i + 1] ?? '';
    const eq = flags.find((f) => f.startsWith('--') && a.startsWith(`${f}=`));
    if (eq) return a.slice(eq.length + 1);
  }
  return null;
}

const flagValues = (argv: readonly string[], flag: string): string[] =>
  argv.flatMap((a, i) => (a === flag && i + 1 < argv.length ? [argv[i + 1]!] : []));

/**
 * A service exposed to a far end: critical when that end is not loopback and the service hands out
 * interactive access (ssh, Jupyter, TensorBoard, …) or the whole network (a reverse SOCKS), else high.
 */
function exposure(far: string, localPort: number | null, wholeNetwork = false): Severity {
  return !isLoopback(far) && (wholeNetwork || isExposedService(localPort)) ? 'critical' : 'high';
}

/** `client <server> <remote>...` and `server --reverse`. */
const chisel: Grammar = (argv, named) => {
  const cmd = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  if (argv[cmd] === 'server') {
    if (argv.includes('--reverse'))
      return { tool: 'chisel', what: 'chisel server accepting reverse tunnels (--reverse)', severity: 'high' };
    return named ? { tool: 'chisel', what: 'chisel server', severity: 'high' } : null;
  }
  if (argv[cmd] !== 'client') return null;
  const rest = argv.slice(cmd + 1).filter((a) => !a.startsWith('-'));
  const serverAt = rest.findIndex((a) => /^https?:\/\/\S+$|^[\w.[\]:-]+:\d+$/.test(a));
  if (serverAt < 0) return null;
  const server = rest[serverAt]!;
  const remotes = rest
    .slice(serverAt + 1)
    .filter((r) => /^R:|^socks$|^stdio:|^(?:[\w.[\]-]*:)?\d+:[\w.[\]-]+:\d+$/i.test(r));
  if (remotes.length === 0)
    return named ? { tool: 'chisel', what: `chisel client to ${server}`, severity: 'high' } : null;
  const far = urlEndpoint(server)?.host ?? parseEndpoint(server).host;
  let severity: Severity = 'high';
  for (const r of remotes.filter((x) => /^R:/i.test(x))) {
    const parts = r.slice(2).split(':');
    const socks = parts.at(-1)?.toLowerCase() === 'socks';
    const s = exposure(far, socks ? null : Number(parts.at(-1)), socks);
    if (s === 'critical') severity = s;
  }
  const reverse = remotes.some((x) => /^R:/i.test(x));
  return {
    tool: 'chisel',
    what: `chisel client to ${server} with ${reverse ? 'reverse' : 'local'} tunnel${remotes.length > 1 ? 's' : ''} ${remotes.join(' ')}`,
    severity,
  };
};

/** `tunnel run --token X`, `tunnel --url http://localhost:8888`. */
const cloudflared: Grammar = (argv, named) => {
  if (!argv.includes('tunnel')) return null;
  const url = flagValue(argv, '--url');
  const token = flagValue(argv, '--token') !== null;
  if (url !== null) {
    const e = urlEndpoint(url) ?? { host: parseEndpoint(url).host, port: parseEndpoint(url).port };
    return {
      tool: 'cloudflared',
      what: `cloudflared tunnel publishing ${url} on Cloudflare's edge (--url)`,
      severity: exposure('cloudflare edge', e.port),
    };
  }
  if (token)
    return { tool: 'cloudflared', what: 'cloudflared tunnel run with an account token (--token)', severity: 'high' };
  return named ? { tool: 'cloudflared', what: 'cloudflared tunnel', severity: 'high' } : null;
};

const NGROK_PROTOCOLS = ['tcp', 'http', 'tls'];

/** `tcp 22`, `http 8888`, `--authtoken X`, `config add-authtoken X`. */
const ngrok: Grammar = (argv, named) => {
  const [, proto, target] = argv;
  if (proto && NGROK_PROTOCOLS.includes(proto) && target && /^(\d+|[\w.[\]:-]+:\d+|https?:\/\/\S+)$/.test(target)) {
    const port = urlEndpoint(target)?.port ?? parseEndpoint(target).port;
    return {
      tool: 'ngrok',
      what: `ngrok publishing local ${target} (${proto}) on ngrok's servers`,
      severity: exposure('ngrok', port),
    };
  }
  if (flagValue(argv, '--authtoken') !== null || argv.includes('add-authtoken'))
    return { tool: 'ngrok', what: 'ngrok with an account token (--authtoken)', severity: 'high' };
  if (named && argv.some((x) => ['start', 'tunnel', 'tcp', 'http', 'tls'].includes(x)))
    return { tool: 'ngrok', what: 'ngrok tunnel', severity: 'high' };
  return null;
};

const SCHEME = /^[a-z][a-z0-9+]*:\/\//i;

/** `-L <scheme>://...` listeners and `-F <scheme>://...` chain nodes. */
const gost: Grammar = (argv, named) => {
  const listeners = flagValues(argv, '-L');
  const chain = flagValues(argv, '-F');
  // Without its name: a listener on every interface (scheme://:port), or a chain node with a listener
  // (curl -L https://host follows redirects; no gost listener names a host before its port).
  const grammar =
    listeners.some((l) => /^[a-z][a-z0-9+]*:\/\/:\d+/i.test(l)) ||
    (listeners.length > 0 && chain.some((c) => SCHEME.test(c)));
  if (!grammar && !(named && listeners.length + chain.length > 0)) return null;
  const remote = chain.map((c) => urlEndpoint(c)).find((e) => e && e.host !== '' && !isLoopback(e.host));
  const reverse = listeners.filter((l) => /^r(tcp|udp):\/\//i.test(l));
  let severity: Severity = 'high';
  for (const l of reverse) {
    // rtcp://[bind]:port/target: the listener is on the far end, the target is reached from here.
    const target = parseEndpoint(l.split('/').slice(3).join('/') || '');
    const far = remote?.host ?? urlEndpoint(l)?.host ?? '';
    if (far !== '' && exposure(far, target.port) === 'critical') severity = 'critical';
  }
  const via = chain.length ? ` through ${chain.join(', ')}` : '';
  return {
    tool: 'gost',
    what: `gost ${reverse.length ? 'reverse ' : ''}forwarding ${listeners.join(', ') || '(no listener)'}${via}`,
    severity,
  };
};

/** `local PORT --to HOST`. */
const bore: Grammar = (argv) => {
  if (argv[1] !== 'local' || !/^\d+$/.test(argv[2] ?? '')) return null;
  const to = flagValue(argv, '--to', '-t');
  if (to === null) return null;
  return {
    tool: 'bore',
    what: `bore publishing local port ${argv[2]} on ${to} (--to)`,
    severity: exposure(to, Number(argv[2])),
  };
};

const FRP_PROXY_TYPES = ['tcp', 'udp', 'http', 'https', 'stcp', 'sudp', 'xtcp', 'tcpmux'];

/**
 * frpc's proxy subcommands: `tcp -s SERVER:PORT -l LOCAL_PORT -r REMOTE_PORT` (and -i local ip);
 * `--server_addr`/`--local_port`/`--remote_port` long forms. A server and a local port make it.
 */
const frpc: Grammar = (argv) => {
  if (!FRP_PROXY_TYPES.includes(argv[1] ?? '')) return null;
  const server = flagValue(argv, '-s', '--server_addr', '--server-addr');
  const local = flagValue(argv, '-l', '--local_port', '--local-port');
  if (!server || !local || !/^\d+$/.test(local)) return null;
  const remote = flagValue(argv, '-r', '--remote_port', '--remote-port');
  const far = parseEndpoint(server)?.host ?? server;
  return {
    tool: 'frpc',
    what: `frp ${argv[1]} proxy publishing local port ${local} through ${server}${remote ? ` as port ${remote}` : ''} (-s/-l${remote ? '/-r' : ''})`,
    severity: exposure(far, Number(local)),
  };
};

/** What one socat address is. */
function socatAddress(addr: string): {
  kind: 'listen' | 'connect' | 'exec' | 'proxy' | 'stdio' | 'other';
  host: string;
  port: number | null;
} {
  const [head = '', ...opts] = addr.split(',');
  const [type = '', ...fields] = head.split(':');
  const t = type.toLowerCase();
  if (addr === '-' || /^(stdio|stdin|stdout|readline)$/.test(t)) return { kind: 'stdio', host: '', port: null };
  if (/^(exec|system)$/.test(t)) return { kind: 'exec', host: '', port: null };
  if (/^(tcp|udp|sctp)[46]?-listen$|^openssl-listen$/.test(t)) {
    const bind = opts.find((o) => o.startsWith('bind='))?.slice(5) ?? '';
    return { kind: 'listen', host: bind, port: Number(fields[0]) || null };
  }
  if (/^(tcp|udp|sctp)[46]?(-connect)?$|^openssl(-connect)?$|^ssl$/.test(t))
    return { kind: 'connect', host: fields.slice(0, -1).join(':'), port: Number(fields.at(-1)) || null };
  if (/^(socks4a?|socks5|proxy)$/.test(t)) return { kind: 'proxy', host: fields[0] ?? '', port: null };
  return { kind: 'other', host: '', port: null };
}

/** A socat address (a URL such as tcp://host is none: socat writes TCP:host:port). */
const SOCAT_ADDRESS =
  /^(-|stdio|tcp[46]?(-listen|-connect)?|udp[46]?(-listen)?|openssl(-listen|-connect)?|exec|system|socks4a?|socks5|proxy)(:(?!\/\/)|$)/i;

/** Two addresses: a listener or connection on one side, a connection or a program on the other. */
const socat: Grammar = (argv, named) => {
  const addrs = argv.slice(1).filter((a) => a === '-' || !a.startsWith('-'));
  if (addrs.length < 2 || (!named && !(addrs.length === 2 && addrs.every((a) => SOCAT_ADDRESS.test(a))))) return null;
  const [a, b] = [socatAddress(addrs[0]!), socatAddress(addrs[1]!)];
  const pair = `${addrs[0]} ${addrs[1]}`;
  const net = [a, b].find((x) => x.kind === 'listen' || x.kind === 'connect');
  if (a.kind === 'exec' || b.kind === 'exec') {
    if (!net) return null;
    const remote = net.kind === 'connect' ? !isLoopback(net.host) : isAnyAddress(net.host) || !isLoopback(net.host);
    return {
      tool: 'socat',
      what: `socat running a program for a ${net.kind === 'listen' ? `listener on ${net.host || '*'}:${net.port}` : `connection to ${net.host}:${net.port}`} (EXEC/SYSTEM): ${pair}`,
      severity: remote ? 'critical' : 'high',
    };
  }
  const listen = [a, b].find((x) => x.kind === 'listen');
  const connects = [a, b].filter((x) => x.kind === 'connect');
  if (listen && connects.length === 1) {
    const target = connects[0]!;
    const open = isAnyAddress(listen.host) || !isLoopback(listen.host);
    const severity: Severity = !isLoopback(target.host) ? 'high' : open ? 'medium' : 'low';
    return {
      tool: 'socat',
      what: `socat relay from a listener on ${listen.host || '*'}:${listen.port} to ${target.host}:${target.port}: ${pair}`,
      severity,
    };
  }
  if (connects.length === 2) {
    const remote = connects.find((c) => !isLoopback(c.host));
    const local = connects.find((c) => isLoopback(c.host));
    if (!remote || !local) return null;
    return {
      tool: 'socat',
      what: `socat joining ${remote.host}:${remote.port} to local ${local.host}:${local.port} (a reverse tunnel): ${pair}`,
      severity: exposure(remote.host, local.port),
    };
  }
  const proxy = [a, b].find((x) => x.kind === 'proxy');
  if (proxy && (a.kind === 'stdio' || b.kind === 'stdio')) return null;
  if (proxy) return { tool: 'socat', what: `socat proxy relay: ${pair}`, severity: 'medium' };
  return null;
};

const NC_VALUE_FLAGS = new Set([
  'e',
  'c',
  'p',
  's',
  'x',
  'X',
  'w',
  'i',
  'q',
  'o',
  'O',
  'm',
  'g',
  'G',
  'P',
  'I',
  'T',
  'V',
  'W',
]);
const NC_LONG_VALUE = [
  '--sh-exec',
  '--exec',
  '--lua-exec',
  '--proxy',
  '--proxy-type',
  '--proxy-auth',
  '--source',
  '--source-port',
];

/** `-e`/`-c`/`--sh-exec`/`--exec`/`--lua-exec`: a program handed the connection. */
const netcat: Grammar = (argv) => {
  let program: string | null = null;
  let listen = false;
  let source = '';
  const positional: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const long = NC_LONG_VALUE.find((f) => a === f || a.startsWith(`${f}=`));
    if (long) {
      const v = a === long ? (argv[++i] ?? '') : a.slice(long.length + 1);
      if (/exec/.test(long)) program = v;
      if (long === '--source') source = v;
      continue;
    }
    if (a === '--listen') listen = true;
    if (a.startsWith('--')) continue;
    // A cluster ending in e or c (-lvnpe /bin/sh) hands the program over whatever else it holds.
    if (/^-[A-Za-z]*[ec]$/.test(a)) {
      if (a.includes('l')) listen = true;
      program = argv[++i] ?? '';
      continue;
    }
    if (!a.startsWith('-') || a.length < 2) {
      positional.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      if (f === 'l') listen = true;
      if (!NC_VALUE_FLAGS.has(f)) continue;
      const v = j + 1 < a.length ? a.slice(j + 1) : (argv[++i] ?? '');
      if (f === 'e' || f === 'c') program = v;
      if (f === 's') source = v;
      break;
    }
  }
  if (program === null) return null;
  if (listen) {
    const open = source === '' || !isLoopback(source);
    return {
      tool: 'nc',
      what: `netcat handing ${program} every connection to a listener on ${source || '*'}${positional.length ? `:${positional.at(-1)}` : ''}`,
      severity: open ? 'critical' : 'high',
    };
  }
  const host = positional[0] ?? '';
  return {
    tool: 'nc',
    what: `netcat handing ${program} a connection to ${host}${positional[1] ? `:${positional[1]}` : ''}`,
    severity: host !== '' && !isLoopback(host) ? 'critical' : 'high',
  };
};

/**
 * The grammars by the tool they are; a process named or hashed as a tool is read with its own first.
 * The others are tried on every exec: their grammar alone says what the program is.
 */
export const TOOL_GRAMMARS: Record<string, Grammar> = {
  chisel,
  cloudflared,
  ngrok,
  gost,
  bore,
  frpc,
  socat,
  nc: netcat,
  ncat: netcat,
  netcat,
  'nc.openbsd': netcat,
  'nc.traditional': netcat,
};

/** Grammars distinctive enough to name a tool by its arguments alone (a netcat -e needs its name). */
export const NAMELESS_GRAMMARS: readonly Grammar[] = [chisel, cloudflared, ngrok, gost, bore, frpc, socat];
