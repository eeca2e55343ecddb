import { defineDetection } from '../define.js';
import { eventCommandLine, namesOf } from '../argv.js';
import { SENSOR_PROCESS_NAMES } from '../indicators.js';

/** Programs that send signals to processes they name by pid or by name. */
const SIGNALLERS = new Set(['kill', 'pkill', 'killall', 'skill']);
/** Service managers, and the verbs of theirs that stop, freeze or disable a unit. */
const MANAGERS = new Set(['systemctl', 'service']);
const STOPPING_VERBS = new Set([
  'stop',
  'kill',
  'disable',
  'mask',
  'freeze',
  'restart',
  'try-restart',
  'reload-or-restart',
  'force-reload',
  'isolate',
]);
/** Signals that harm nothing: 0 only checks that the process exists, CONT resumes it. */
const HARMLESS_SIGNALS = new Set(['0', 'CONT']);
/** Linux x86-64/arm64 numbers of the signals named in reasons. */
const SIGNAL_NAMES: Record<string, string> = {
  '1': 'HUP',
  '2': 'INT',
  '9': 'KILL',
  '15': 'TERM',
  '18': 'CONT',
  '19': 'STOP',
  '20': 'TSTP',
};
const FREEZES = 'freezes it: a frozen probe is a blind sensor';
const SIGNAL_EFFECT: Record<string, string> = { STOP: FREEZES, TSTP: FREEZES, KILL: 'kills it' };

/**
 * The signal a kill/pkill/killall/skill command line sends (`TERM` when none is named), or null when
 * it sends none (`-l`, `-L`, `--list`: it lists signal names).
 */
export function signalOf(argv: readonly string[]): string | null {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '-l' || a === '-L' || a === '--list' || a === '--table') return null;
    if (a === '-s' || a === '-n' || a === '--signal') return norm(argv[i + 1] ?? 'TERM');
    if (a.startsWith('--signal=')) return norm(a.slice('--signal='.length));
    // -9, -KILL, -SIGSTOP (pkill's and kill's short forms); not pkill's own letter flags (-f, -u, -x ...).
    if (/^-(\d+|[A-Z][A-Z0-9+-]*)$/.test(a)) return norm(a.slice(1));
  }
  return 'TERM';
}

function norm(s: string): string {
  const name = s.toUpperCase().replace(/^SIG/, '');
  return SIGNAL_NAMES[name] ?? name;
}

export const sensorTamper = defineDetection({
  id: 'sensor.tamper',
  title: 'Attempt to stop, freeze or blind the sensor',
  severity: 'critical',
  mitre: ['T1562.001'],
  on: ['exec'],
  description:
    'A signal other than 0/CONT sent to the sensor, bpftrace or nats-server (kill/pkill/killall by name or pid, SIGSTOP included); systemctl/service stop, kill, disable, mask, freeze or restart of its unit; unmounting tracefs; detaching BPF programs. Reading its state (systemctl status, is-active, journalctl, pgrep, ps) is not tamper. A shell builtin kill runs no program: the probe-stall and probe-restart alerts cover it.',
  match(ev, ctx) {
    const names = namesOf(ev);
    const argv = ev.exec.argv;
    const text = eventCommandLine(argv);
    const sensorName = (args: readonly string[]) =>
      SENSOR_PROCESS_NAMES.find((n) => args.some((a) => a === n || a.includes(n)));
    if ([...names].some((n) => MANAGERS.has(n))) {
      const verb = argv.slice(1).find((a) => STOPPING_VERBS.has(a));
      const unit = sensorName(argv.slice(1).filter((a) => !a.startsWith('-')));
      if (verb && unit) return { reason: `${argv[0]} ${verb} aimed at the ${unit} unit: ${text}` };
      return null;
    }
    if ([...names].some((n) => SIGNALLERS.has(n))) {
      const signal = signalOf(argv);
      if (signal === null || HARMLESS_SIGNALS.has(signal)) return null;
      const effect = SIGNAL_EFFECT[signal] ?? 'stops it unless it handles the signal';
      const byName = names.has('kill') ? undefined : sensorName(argv.slice(1).filter((a) => !a.startsWith('-')));
      if (byName) return { reason: `${argv[0]} sends SIG${signal} to ${byName} (${effect}): ${text}` };
      const pids = ctx.config.sensorPids(ev.host);
      const byPid = argv
        .slice(1)
        .map((a) => Number(a))
        .find((n) => Number.isInteger(n) && pids.has(n));
      if (byPid !== undefined && (names.has('kill') || names.has('skill')))
        return { reason: `kill sends SIG${signal} to the sensor's process ${byPid} (${effect}): ${text}` };
      return null;
    }
    if (names.has('umount') && argv.some((a) => /\/sys\/kernel\/(debug\/)?tracing/.test(a)))
      return { reason: `tracefs unmounted: ${text}` };
    if (names.has('bpftool') && argv.includes('prog') && argv.some((a) => a === 'detach' || a === 'unload'))
      return { reason: `BPF program detached: ${text}` };
    return null;
  },
});
