import { defineDetection } from '../define.js';
import { basename, domainMatches, eventCommandLine, eventHosts, exeOf, namesOf } from '../argv.js';
import { SSH_UNUSUAL_PORTS, TUNNEL_DOMAINS } from '../indicators.js';

/** ssh options that take an argument (from ssh(1)); a flag cluster stops at the first of them. */
const SSH_ARG_FLAGS = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));
const SSH_FORWARD_FLAGS: Record<string, string> = {
  R: 'remote forward (-R)',
  L: 'local forward (-L)',
  D: 'dynamic SOCKS proxy (-D)',
  w: 'tun device forward (-w)',
  J: 'jump host (-J)',
  W: 'stdio forward (-W)',
};
const SSH_FORWARD_OPTIONS = [
  'remoteforward',
  'localforward',
  'dynamicforward',
  'gatewayports',
  'proxycommand',
  'proxyjump',
  'tunnel',
  'tunneldevice',
  'exitonforwardfailure',
  'permitlocalcommand',
  'localcommand',
];

/** What in an ssh command line opens a tunnel or proxy. */
export function sshTunnelIndicators(argv: string[]): string[] {
  const found: string[] = [];
  const option = (kv: string) => {
    const [k, ...rest] = kv.split(/[=\s]/);
    const key = (k ?? '').toLowerCase();
    const value = rest.join('=').trim().toLowerCase();
    if (
      SSH_FORWARD_OPTIONS.includes(key) &&
      !(key === 'permitlocalcommand' && value !== 'yes') &&
      !(key === 'tunnel' && value === 'no') &&
      !(key === 'gatewayports' && value === 'no')
    ) {
      found.push(`-o ${kv}`);
    }
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (!a.startsWith('-') || a.length < 2) {
      const url = /^ssh:\/\/[^/]*:(\d+)/.exec(a);
      if (url && SSH_UNUSUAL_PORTS.includes(Number(url[1]))) found.push(`port ${url[1]}`);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      if (SSH_FORWARD_FLAGS[f]) found.push(SSH_FORWARD_FLAGS[f]!);
      if (SSH_ARG_FLAGS.has(f)) {
        const value = j + 1 < a.length ? a.slice(j + 1) : (argv[++i] ?? '');
        if (f === 'o') option(value);
        if (f === 'p' && SSH_UNUSUAL_PORTS.includes(Number(value))) found.push(`port ${value}`);
        break;
      }
    }
  }
  return found;
}

export const tunnelSshForward = defineDetection({
  id: 'tunnel.ssh-forward',
  title: 'SSH tunnel or proxy',
  severity: 'high',
  mitre: ['T1572', 'T1021.004', 'T1090'],
  on: ['exec'],
  description:
    'ssh/autossh with -R/-L/-D/-w/-J/-W (also inside combined flags), forwarding or proxy -o options, or to ports used to blend in.',
  ranks: {
    min: 'medium',
    max: 'critical',
    rule: 'critical for a remote forward (-R, RemoteForward); medium for autossh with no forwarding flag',
  },
  match(ev) {
    const names = namesOf(ev);
    const isAutossh = names.has('autossh');
    if (!isAutossh && !names.has('ssh')) return null;
    const argv = ev.exec.argv;
    const found = sshTunnelIndicators(
      isAutossh ? argv.filter((a, i) => !(argv[i - 1] === '-M') && a !== '-M' && !a.startsWith('-M')) : argv,
    );
    if (found.length === 0 && !isAutossh) return null;
    const reverse = found.some((f) => f.startsWith('remote') || /remoteforward/i.test(f));
    return {
      reason: `${isAutossh ? 'autossh (persistent ssh)' : 'ssh'} started with ${found.length ? found.join(', ') : 'a monitored, self-restarting connection'}: ${eventCommandLine(argv)}`,
      severity: reverse ? 'critical' : isAutossh && found.length === 0 ? 'medium' : 'high',
    };
  },
});

type ToolRule = { names: string[]; when: (argv: string[], text: string) => string | null };

const has = (argv: string[], ...flags: string[]) =>
  argv.some((a) => flags.includes(a) || flags.some((f) => f.startsWith('--') && a.startsWith(`${f}=`)));
/** A short flag inside a cluster such as -lvnpe. */
const hasShort = (argv: string[], f: string) => argv.some((a) => /^-[A-Za-z]+$/.test(a) && a.slice(1).includes(f));

export const TUNNEL_TOOLS: ToolRule[] = [
  {
    names: ['chisel'],
    when: (a) =>
      a.includes('client') || a.includes('server') ? `chisel ${a.includes('client') ? 'client' : 'server'}` : null,
  },
  { names: ['frpc', 'frps'], when: () => 'frp reverse proxy' },
  {
    names: ['ngrok'],
    when: (a) =>
      a.some((x) => ['tcp', 'http', 'tls', 'start', 'tunnel'].includes(x)) || a.includes('add-authtoken')
        ? 'ngrok tunnel'
        : null,
  },
  { names: ['cloudflared'], when: (a) => (a.includes('tunnel') ? 'cloudflared tunnel' : null) },
  { names: ['bore'], when: (a) => (a.includes('local') ? 'bore tunnel' : null) },
  { names: ['gost'], when: (a) => (has(a, '-L', '-R', '-C', '-F') ? 'gost proxy/tunnel' : null) },
  {
    names: ['sshuttle'],
    when: (a) =>
      has(a, '-r', '--remote') || a.some((x) => x.startsWith('--remote=')) ? 'sshuttle VPN over ssh' : null,
  },
  {
    names: ['socat'],
    when: (_a, t) =>
      /\b(exec|system):/i.test(t)
        ? 'socat running a command on a connection (EXEC/SYSTEM)'
        : /\b(tcp[46]?-listen|socks4a?|proxy):/i.test(t)
          ? 'socat listener/relay'
          : null,
  },
  {
    names: ['nc', 'ncat', 'netcat', 'nc.traditional', 'nc.openbsd'],
    when: (a) =>
      has(a, '-e', '-c', '--sh-exec', '--exec', '--lua-exec') || hasShort(a, 'e')
        ? 'netcat executing a program for the connection'
        : null,
  },
  {
    names: [
      'iodine',
      'iodined',
      'dnscat',
      'dnscat2',
      'hans',
      'ptunnel',
      'ptunnel-ng',
      '3proxy',
      'wstunnel',
      'localtonet',
      'devtunnel',
      'rathole',
      'pinggy',
    ],
    when: (_a, t) => `${t.split(' ')[0] ? basename(t.split(' ')[0]!) : 'tunnel tool'}`,
  },
  { names: ['code'], when: (a) => (a[1] === 'tunnel' ? 'VS Code remote tunnel' : null) },
  {
    names: ['tailscaled'],
    when: (a) =>
      a.some((x) => x.startsWith('--socks5-server') || x.startsWith('--outbound-http-proxy-listen'))
        ? 'tailscaled proxy listener'
        : null,
  },
];

export const tunnelTool = defineDetection({
  id: 'tunnel.tool',
  title: 'Tunnelling or proxy tool',
  severity: 'high',
  mitre: ['T1572', 'T1090'],
  on: ['exec'],
  description:
    'chisel, frp, ngrok, cloudflared tunnel, bore, gost, sshuttle, socat EXEC/SYSTEM/LISTEN, netcat -e/-c, and the rest of the indicator table; tunnel service domains in argv.',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical when the tool runs a program for the connection (socat EXEC/SYSTEM, netcat -e/-c)',
  },
  match(ev) {
    if (ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    const names = namesOf(ev);
    const argv = ev.exec.argv;
    const text = eventCommandLine(argv);
    for (const tool of TUNNEL_TOOLS) {
      if (!tool.names.some((n) => names.has(n))) continue;
      const what = tool.when(argv, text);
      if (what) return { reason: `${what}: ${text}`, severity: /EXEC|executing/.test(what) ? 'critical' : 'high' };
    }
    const domain = eventHosts(argv).find((h) => domainMatches(h, TUNNEL_DOMAINS));
    if (domain) return { reason: `tunnel service ${domain} in the command line of ${exeOf(ev)}: ${text}` };
    return null;
  },
});
