import type { AncestorV1, ProcessV1 } from '@vigil/schema';
import { defineDetection } from '../define.js';
import { basename, inWritablePlace } from '../argv.js';
import { INTERACTIVE_HOST_SCRIPTS, INTERACTIVE_HOSTS, INTERPRETERS, SHELLS, WEB_PORTS } from '../indicators.js';
import { endpoint, execOf, isLoopback, outboundPeers, shellOf, stdioFd, worstPeer } from './behaviour.js';

/** Shells looked through between the shell and the program that started it. */
const MAX_SHELLS_BETWEEN = 2;

/** DNS, and the web: what a script downloading a model or calling an API talks to. */
const STANDARD_PORTS = [53, ...WEB_PORTS];

/** Runs a command and exits (`-c`, also folded as `-ic`), rather than reading a person's commands. */
const runsCommand = (argv: readonly string[]): boolean => argv.slice(1).some((a) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a));

/** Reads its commands from stdin: no -c and no script named (options such as -i, -s only). */
const readsStdin = (argv: readonly string[]): boolean =>
  !runsCommand(argv) && argv.slice(1).every((a) => a.startsWith('-') || a.startsWith('+'));

/** A terminal for a person: sshd, tmux, screen, login, terminal emulators, VS Code's server, Jupyter. */
function interactiveHost(parent: AncestorV1): boolean {
  const names = [basename(parent.exe), parent.comm, basename(parent.argv[0] ?? ''), basename(parent.argv[1] ?? '')];
  if (names.some((n) => INTERACTIVE_HOSTS.some((re) => re.test(n.toLowerCase())))) return true;
  const line = parent.argv.join(' ');
  return INTERACTIVE_HOST_SCRIPTS.some((re) => re.test(line) || re.test(parent.exe));
}

/** What the parent is that makes a connected parent suspicious: an interpreter, or a dropped or fileless binary. */
function suspiciousParent(parent: AncestorV1, parentProc: ProcessV1 | undefined): string | undefined {
  const name = basename(parent.exe).toLowerCase();
  if (INTERPRETERS.some((re) => re.test(name) || re.test(parent.comm))) return `the interpreter ${parent.exe}`;
  if (parentProc?.fileless) return `the fileless program ${parent.exe}`;
  if (parentProc?.exeRecentlyWritten) return `${parent.exe}, written moments before it ran`;
  if (parentProc?.exeInWritableDir || inWritablePlace(parent.exe)) return `${parent.exe}, run from a writable place`;
  return undefined;
}

/**
 * An interactive shell on a terminal whose parent holds an outbound connection: python's
 * `pty.spawn('/bin/sh')` after connecting back to its operator, a dropper giving its remote a pty.
 * The shell's own stdio is the pty, so shell.reverse cannot see it; the parent's open connection can.
 * Ports 53/80/443 are a model download or an API call (a trainer that fetched from the Hub and runs
 * `bash -c nvidia-smi` is no remote shell), unless the shell's terminal is one the starter made (its
 * own fd 0 is no terminal or another one: pty.fork behind an HTTPS-looking connection); terminals for
 * people (sshd, tmux, IDEs, Jupyter) are left out.
 */
export const shellSpawnedByConnection = defineDetection({
  id: 'shell.spawned-by-connection',
  title: 'Interactive shell spawned by a process holding a connection',
  severity: 'high',
  mitre: ['T1059.004', 'T1071'],
  on: ['exec'],
  description:
    'A shell on a tty (not -c), or reading its commands from a pipe or socketpair (no -c, no script), whose parent, an interpreter or a dropped/fileless binary, has an open outbound connection to a port other than 53/80/443 (any port when the shell’s terminal is one its starter made).',
  ranks: { min: 'medium', max: 'high', rule: 'high toward a peer off this host; medium on loopback' },
  match(ev, ctx) {
    // On a terminal (pty.spawn), or reading commands from a pipe or socketpair its parent writes
    // (node's child_process and python's subprocess hand a shell its stdin so).
    const fd0 = stdioFd(ev, 0)?.type;
    const onTty = fd0 === 'tty' && !runsCommand(ev.exec.argv);
    const fedByParent = (fd0 === 'pipe' || fd0 === 'unix') && readsStdin(ev.exec.argv);
    if (!onTty && !fedByParent) return null;
    // Through shells between (`pty.spawn('sh -c "bash -i"')`) to the program that started them.
    const parent = ev.proc.ancestry
      .slice(0, MAX_SHELLS_BETWEEN + 1)
      .find((a) => !SHELLS.includes(a.comm.toLowerCase()));
    if (!parent || interactiveHost(parent)) return null;
    const shell = shellOf(ev, ctx);
    if (!shell) return null;
    const history = ctx.recent(ev.host, parent.pid);
    const what = suspiciousParent(parent, execOf(history)?.proc ?? history.at(-1)?.proc);
    if (!what) return null;
    // A terminal the starter made itself (its own fd 0 is no terminal, or another one) is a remote
    // terminal whatever port carries it: a web port no longer stands for a download.
    const starter = execOf(history);
    const own = starter && stdioFd(starter, 0);
    const newPty =
      onTty && own !== undefined && (own.type !== 'tty' || (own.ino !== null && own.ino !== stdioFd(ev, 0)?.ino));
    const peer = worstPeer(outboundPeers(history).filter((p) => newPty || !STANDARD_PORTS.includes(p.port)));
    if (!peer) return null;
    const far = !isLoopback(peer.addr);
    return {
      reason: `${shell.text} started ${onTty ? `on a terminal (fd 0 a tty${newPty ? ' its starter is not on: one it made' : ''})` : `reading its commands from its parent (fd 0 a ${fd0}, no command given)`} by ${what} (pid ${parent.pid}), which holds a connection to ${endpoint(peer)}${far ? '' : ' (loopback)'}`,
      severity: far ? 'high' : 'medium',
      evidence: [peer.eventId],
    };
  },
});
