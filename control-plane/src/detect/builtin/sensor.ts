import { defineDetection } from '../define.js';
import { eventCommandLine, namesOf } from '../argv.js';
import { SENSOR_PROCESS_NAMES } from '../indicators.js';
import { PROCESS_CONTROLS } from '../host-indicators.js';

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
  on: ['exec', 'exe'],
  description:
    'A signal other than 0/CONT sent to the sensor, bpftrace or nats-server (kill/pkill/killall by name, pid or content: a renamed copy of kill is kill, SIGSTOP included); a tracer attaching to it or a scheduler or limiter aimed at its pid (gdb, strace, renice, prlimit, …); systemctl/service stop, kill, disable, mask, freeze or restart of its unit; unmounting tracefs; detaching BPF programs. Reading its state (systemctl status, is-active, journalctl, pgrep, ps) is not tamper. A shell builtin kill runs no program: the probe-stall and probe-restart alerts cover it.',
  ranks: {
    min: 'high',
    max: 'critical',
    rule: 'critical for signals, tracers, unit stops, tracefs and BPF detaches; high for a scheduler or limiter aimed at its pid',
  },
  match(ev, ctx) {
    if (ev.kind === 'exec' && ev.exec.ret !== null && ev.exec.ret !== 0) return null;
    // A renamed copy of kill is known by its content, often only once its hash is reported (the exe
    // event after its exec): judged then, with the argv it ran with.
    const tool = ev.kind === 'exe' || ev.kind === 'exec' ? ctx.toolOf(ev.host, ev.proc) : undefined;
    if (ev.kind === 'exe' && (ev.exe.reference || !tool || namesOf(ev).has(tool))) return null;
    const names: ReadonlySet<string> = tool ? new Set([...namesOf(ev), tool]) : namesOf(ev);
    const argv = ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv;
    const renamed =
      tool && !namesOf(ev).has(tool) ? ` (${ev.proc.exe}, a renamed copy of ${tool} by content hash)` : '';
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
      if (byName) return { reason: `${argv[0]}${renamed} sends SIG${signal} to ${byName} (${effect}): ${text}` };
      const pids = ctx.config.sensorPids(ev.host);
      const byPid = argv
        .slice(1)
        .map((a) => Number(a))
        .find((n) => Number.isInteger(n) && pids.has(n));
      if (byPid !== undefined && (names.has('kill') || names.has('skill')))
        return { reason: `kill${renamed} sends SIG${signal} to the sensor's process ${byPid} (${effect}): ${text}` };
      return null;
    }
    const control = [...names].find((n) => Object.hasOwn(PROCESS_CONTROLS, n));
    if (control) {
      const pids = ctx.config.sensorPids(ev.host);
      const target = argv
        .slice(1)
        .flatMap((a) => a.split(/[=,]/))
        .map((a) => Number(a))
        .find((n) => Number.isInteger(n) && n > 0 && pids.has(n));
      if (target === undefined) return null;
      const { rank, effect } = PROCESS_CONTROLS[control]!;
      return {
        reason: `${control}${renamed} aimed at the sensor's process ${target}: it ${effect}: ${text}`,
        severity: rank,
      };
    }
    if (names.has('umount') && argv.some((a) => /\/sys\/kernel\/(debug\/)?tracing/.test(a)))
      return { reason: `tracefs unmounted: ${text}` };
    if (names.has('bpftool') && argv.includes('prog') && argv.some((a) => a === 'detach' || a === 'unload'))
      return { reason: `BPF program detached: ${text}` };
    return null;
  },
});
