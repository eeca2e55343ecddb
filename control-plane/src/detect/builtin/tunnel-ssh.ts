import type { Severity } from '@vigil/schema';
import { defineDetection, type DetectionContext, type EventOf, type Finding } from '../define.js';
import { eventCommandLine } from '../argv.js';
import { describeTool, isLoopback, maxSeverity, tunnelToolOf, type ToolIdentity } from './tunnel-grammar.js';
import { isGitTransport, parseSsh, sshConfigForwards, type SshForward } from './tunnel-ssh-grammar.js';

const SSH_TOOLS = ['ssh', 'autossh'];

/** autossh's own -M port is its monitor, not a forward: what ssh is given is the rest. */
const sshArgv = (argv: readonly string[], autossh: boolean): readonly string[] =>
  autossh ? argv.filter((a, i) => !(argv[i - 1] === '-M') && a !== '-M' && !a.startsWith('-M')) : argv;

/** "remote forward (-R 9000:localhost:22) [the command line]": each forward with where it was read. */
const listForwards = (forwards: readonly SshForward[], withWhere: boolean): string =>
  forwards.map((f) => (withWhere ? `${f.what} (${f.where})` : f.what)).join(', ');

/** Why a remote forward ranks as it does: the far end that gets a listener into this host. */
function farEnd(forwards: readonly SshForward[], host: string | null): string {
  if (!forwards.some((f) => /^remote forward|^-o RemoteForward|^RemoteForward/i.test(f.what))) return '';
  if (host === null) return '; the far end is unknown';
  return isLoopback(host) ? `; the far end ${host} is loopback` : `; the far end ${host} is not loopback`;
}

function judge(id: ToolIdentity, forwards: readonly SshForward[]): Severity | null {
  let severity: Severity | null = forwards.length ? maxSeverity(...forwards.map((f) => f.severity)) : null;
  // A renamed ssh, or autossh keeping a connection up, is worth a look; alone it never ranks higher.
  if (id.by === 'hash' || id.tool === 'autossh') severity = maxSeverity(severity ?? 'info', 'medium');
  return severity;
}

function onCommandLine(ev: EventOf<'exec'> | EventOf<'exe'>, ctx: DetectionContext): Finding | null {
  const id = tunnelToolOf(ev, ctx, SSH_TOOLS);
  if (!id) return null;
  // Named ssh is judged at its exec; an exe report adds only what a renamed copy's hash tells.
  if (ev.kind === 'exe' && (id.by === 'name' || ev.exe.reference)) return null;
  const argv = ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv;
  const inv = parseSsh(sshArgv(argv, id.tool === 'autossh'));
  const severity = judge(id, inv.forwards);
  if (!severity) return null;
  const what = inv.forwards.length
    ? `with ${listForwards(inv.forwards, false)}`
    : id.tool === 'autossh'
      ? 'keeping a monitored, self-restarting connection'
      : 'under another name, with no forward';
  const git = isGitTransport(inv) ? ' (git transport)' : '';
  return {
    reason: `${describeTool(id)}${inv.host ? ` to ${inv.host}` : ''}${git} ${what}${farEnd(inv.forwards, inv.host)}: ${eventCommandLine(argv)}`,
    severity,
  };
}

/** Forwards the ssh config file it was started with gives its connection rank as on the command line. */
function onConfig(ev: EventOf<'config'>, ctx: DetectionContext): Finding | null {
  const id = tunnelToolOf(ev, ctx, SSH_TOOLS);
  if (!id || ev.config.error !== null) return null;
  const inv = parseSsh(sshArgv(ev.proc.argv, id.tool === 'autossh'));
  const { forwards, target } = sshConfigForwards(ev.config.path, ev.config.directives, inv.host);
  if (forwards.length === 0) return null;
  const severity = maxSeverity(...forwards.map((f) => f.severity));
  return {
    reason: `${describeTool(id)}${inv.host ? ` to ${inv.host}` : ''} started with ${ev.config.path} (${ev.config.reason}), which sets ${listForwards(forwards, true)}${farEnd(forwards, target)}: ${eventCommandLine(ev.proc.argv)}`,
    severity,
    // Apart from the command line's finding: a config read later may rank higher.
    subject: `config:${ev.config.path}`,
  };
}

export const tunnelSshForward = defineDetection({
  id: 'tunnel.ssh-forward',
  title: 'SSH tunnel or proxy',
  severity: 'high',
  mitre: ['T1572', 'T1021.004', 'T1090'],
  on: ['exec', 'exe', 'config'],
  description:
    'ssh or autossh (by name, or a renamed copy by hash) with forwards on its command line (-R/-L/-D/-w/-J/-W, also in combined flags, forwarding -o options) or in the ssh config it was started with (-F file, ~/.ssh/config for the host it targets).',
  ranks: {
    min: 'low',
    max: 'critical',
    rule: 'critical for a remote forward to a non-loopback host, high to loopback or for a tun device (-w); medium for a local/dynamic forward listening on every interface, autossh, or a renamed ssh; low for -L/-D on loopback, -J/-W/ProxyJump/ProxyCommand',
  },
  match(ev, ctx) {
    if (ev.kind === 'config') return onConfig(ev, ctx);
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    return onCommandLine(ev, ctx);
  },
});
