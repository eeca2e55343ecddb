import { defineDetection, type DetectionContext, type EventOf, type Finding } from '../define.js';
import { basename, domainMatches, eventCommandLine, eventHosts, exeOf, namesOf } from '../argv.js';
import { TUNNEL_DOMAINS } from '../indicators.js';
import { describeTool, tunnelToolOf } from './tunnel-grammar.js';
import { NAMELESS_GRAMMARS, TOOL_GRAMMARS, type GrammarHit } from './tunnel-tool-grammar.js';

/** Tools known by name alone here: their arguments say little, or they are tunnels whatever they say. */
const NAMED_TOOLS: { names: string[]; when: (argv: readonly string[]) => string | null }[] = [
  { names: ['frpc', 'frps'], when: () => 'frp reverse proxy' },
  {
    names: ['sshuttle'],
    when: (a) =>
      a.some((x) => x === '-r' || x === '--remote' || x.startsWith('--remote=')) ? 'sshuttle VPN over ssh' : null,
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
    when: (a) => `tunnelling tool ${basename(a[0] ?? '')}`,
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

function judge(ev: EventOf<'exec'> | EventOf<'exe'>, ctx: DetectionContext): Finding | null {
  const id = tunnelToolOf(ev, ctx);
  // ssh and autossh are tunnel.ssh-forward's.
  if (id && (id.tool === 'ssh' || id.tool === 'autossh')) return null;
  // A named tool is judged at its exec; an exe report adds only what a renamed copy's hash tells.
  if (ev.kind === 'exe' && (!id || id.by === 'name' || ev.exe.reference)) return null;
  const argv = ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv;
  const text = eventCommandLine(argv);
  let hit: GrammarHit | null = id ? (TOOL_GRAMMARS[id.tool]?.(argv, true) ?? null) : null;
  let how = id ? (id.by === 'hash' ? `, by ${id.evidence}` : '') : '';
  if (!hit) {
    for (const g of NAMELESS_GRAMMARS) if ((hit = g(argv, false))) break;
    if (hit && !namesOf(ev).has(hit.tool)) how = `, recognised by its arguments (run as ${exeOf(ev)})`;
  }
  if (hit) return { reason: `${hit.what}${how}: ${text}`, severity: hit.severity };
  const names = namesOf(ev);
  for (const t of NAMED_TOOLS) {
    if (!t.names.some((n) => names.has(n) || id?.tool === n)) continue;
    const what = t.when(argv);
    if (what) return { reason: `${what}${how}: ${text}`, severity: 'high' };
  }
  const domain = eventHosts(argv).find((h) => domainMatches(h, TUNNEL_DOMAINS));
  if (domain)
    return {
      reason: `tunnel service ${domain} in the command line of ${id ? describeTool(id) : exeOf(ev)}: ${text}`,
      severity: 'high',
    };
  // A renamed copy alone is worth a look, never more: what it does ranks it.
  if (id?.by === 'hash')
    return { reason: `${id.evidence}, with no tunnel in its arguments: ${text}`, severity: 'medium' };
  return null;
}

export const tunnelTool = defineDetection({
  id: 'tunnel.tool',
  title: 'Tunnelling or proxy tool',
  severity: 'high',
  mitre: ['T1572', 'T1090'],
  on: ['exec', 'exe'],
  description:
    'Tunnel tools by name, by hash (a renamed copy of the host’s socat/nc/…) or by their argument grammar whatever the binary is called: chisel client/server --reverse, cloudflared tunnel --url/--token, ngrok tcp|http PORT/--authtoken, gost -L/-F, bore local --to, socat relays and EXEC/SYSTEM, netcat -e/-c, frp, sshuttle and the rest of the table; tunnel service domains in argv.',
  ranks: {
    min: 'low',
    max: 'critical',
    rule: 'critical when a program is handed a connection to a non-loopback peer or an open listener (socat EXEC/SYSTEM, netcat -e/-c), or a service such as ssh/Jupyter/TensorBoard is published to a non-loopback far end; medium for a renamed copy alone or a relay from an open listener to loopback; low for a loopback-only relay',
  },
  match(ev, ctx) {
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    return judge(ev, ctx);
  },
});
