import { defineDetection } from '../define.js';
import { eventCommandLine, namesOf } from '../argv.js';
import { SENSOR_PROCESS_NAMES } from '../indicators.js';

const KILLERS = new Set([
  'kill',
  'pkill',
  'killall',
  'skill',
  'systemctl',
  'service',
  'umount',
  'bpftool',
  'rmmod',
  'modprobe',
]);

export const sensorTamper = defineDetection({
  id: 'sensor.tamper',
  title: 'Attempt to stop or blind the sensor',
  severity: 'critical',
  mitre: ['T1562.001'],
  on: ['exec'],
  description:
    'kill/pkill/killall/systemctl aimed at the sensor, bpftrace or nats-server (by name or pid); unmounting tracefs; detaching BPF programs.',
  match(ev, ctx) {
    const names = namesOf(ev);
    if (![...names].some((n) => KILLERS.has(n))) return null;
    const argv = ev.exec.argv;
    const text = eventCommandLine(argv);
    const byName = SENSOR_PROCESS_NAMES.find((n) => argv.slice(1).some((a) => a === n || a.includes(n)));
    if (byName && !names.has('modprobe')) return { reason: `${argv[0]} aimed at ${byName}: ${text}` };
    const pids = ctx.config.sensorPids(ev.host);
    const byPid = argv
      .slice(1)
      .map((a) => Number(a))
      .find((n) => Number.isInteger(n) && pids.has(n));
    if (byPid !== undefined && (names.has('kill') || names.has('skill')))
      return { reason: `kill aimed at the sensor's process ${byPid}: ${text}` };
    if (names.has('umount') && argv.some((a) => /\/sys\/kernel\/(debug\/)?tracing/.test(a)))
      return { reason: `tracefs unmounted: ${text}` };
    if (names.has('bpftool') && argv.includes('prog') && argv.some((a) => a === 'detach' || a === 'unload'))
      return { reason: `BPF program detached: ${text}` };
    return null;
  },
});
