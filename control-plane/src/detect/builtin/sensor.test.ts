import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEngine, exec, exeReference, exeReport, exited } from '../testing.js';
import { signalOf } from './sensor.js';

/** The sensor.tamper alerts (reasons) a command line raises; the test config's sensor pid is 777. */
function tamper(argv: string[]): string[] {
  const { engine, alerts } = builtinEngine();
  engine.process([exec(argv, { ancestry: [] })]);
  return alerts.filter((a) => a.ruleId === 'sensor.tamper').map((a) => a.reason);
}

test('sensor.tamper: stopping, killing, freezing or disabling the sensor raises, naming the signal or verb', () => {
  const raised: [string[], RegExp][] = [
    [['systemctl', 'stop', 'vigil-sensor'], /systemctl stop aimed at the vigil unit/],
    [['systemctl', 'kill', '-s', 'STOP', 'vigil-sensor.service'], /systemctl kill/],
    [['systemctl', 'disable', '--now', 'vigil-sensor'], /disable/],
    [['systemctl', 'mask', 'vigil-sensor'], /mask/],
    [['systemctl', 'freeze', 'vigil-sensor'], /freeze/],
    [['systemctl', 'restart', 'vigil-sensor'], /restart/],
    [['service', 'vigil-sensor', 'stop'], /service stop/],
    [['kill', '-STOP', '777'], /SIGSTOP to the sensor's process 777 \(freezes it/],
    [['kill', '-s', 'TSTP', '777'], /SIGTSTP/],
    [['kill', '-9', '777'], /SIGKILL to the sensor's process 777 \(kills it\)/],
    [['kill', '777'], /SIGTERM/],
    [['pkill', '-STOP', 'bpftrace'], /pkill sends SIGSTOP to bpftrace \(freezes it/],
    [['pkill', '-9', 'bpftrace'], /SIGKILL to bpftrace/],
    [['killall', '--signal', 'SIGSTOP', 'nats-server'], /SIGSTOP to nats-server/],
    [['pkill', '-f', 'vigil sensor'], /SIGTERM to vigil/],
  ];
  for (const [argv, reason] of raised) {
    const got = tamper(argv);
    assert.equal(got.length, 1, `${argv.join(' ')} raises`);
    assert.match(got[0]!, reason, argv.join(' '));
  }
});

test("sensor.tamper: an operator reading the sensor's state raises nothing", () => {
  for (const argv of [
    ['systemctl', 'status', 'vigil-sensor'],
    ['systemctl', 'is-active', 'vigil-sensor'],
    ['systemctl', 'show', '-p', 'MainPID', 'vigil-sensor'],
    ['systemctl', 'list-units', 'vigil*'],
    ['service', 'vigil-sensor', 'status'],
    ['journalctl', '-u', 'vigil-sensor', '-f'],
    ['pgrep', '-a', 'bpftrace'],
    ['ps', 'aux'],
    ['grep', 'bpftrace'],
    ['kill', '-0', '777'],
    ['kill', '-CONT', '777'],
    ['kill', '-l'],
    ['pkill', '-0', 'bpftrace'],
    ['kill', '-9', '12345'],
    ['pkill', 'python3'],
    ['systemctl', 'restart', 'nginx'],
  ])
    assert.deepEqual(tamper(argv), [], argv.join(' '));
});

test('signalOf reads the signal forms of kill, pkill and killall', () => {
  assert.equal(signalOf(['kill', '-9', '1']), 'KILL');
  assert.equal(signalOf(['kill', '-19', '1']), 'STOP');
  assert.equal(signalOf(['kill', '-SIGSTOP', '1']), 'STOP');
  assert.equal(signalOf(['kill', '-s', 'stop', '1']), 'STOP');
  assert.equal(signalOf(['pkill', '--signal=TSTP', 'x']), 'TSTP');
  assert.equal(signalOf(['pkill', '-f', 'x']), 'TERM');
  assert.equal(signalOf(['kill', '-l']), null);
});

test('sensor.tamper: a renamed copy of kill is known by its content hash once its exe report arrives, after its exec', () => {
  const { engine, alerts } = builtinEngine();
  const hash = 'b'.repeat(64);
  const p = { pid: 31, comm: 'kworker', exe: '/tmp/.x/kworker', ancestry: [] };
  engine.process([
    exeReference('/usr/bin/kill', hash),
    exec(['/tmp/.x/kworker', '-STOP', '777'], p),
    exited(0, p),
    exeReport('/tmp/.x/kworker', hash, { p: { ...p, argv: ['/tmp/.x/kworker', '-STOP', '777'] } }),
  ]);
  const got = alerts.filter((a) => a.ruleId === 'sensor.tamper');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.severity, 'critical');
  assert.match(
    got[0]!.reason,
    /kill \(\/tmp\/\.x\/kworker, a renamed copy of kill by content hash\) sends SIGSTOP to the sensor's process 777/,
  );
});

test("sensor.tamper: tracers attaching to the sensor's pid are critical, schedulers and limiters high", () => {
  const ranked = (argv: string[]) => {
    const { engine, alerts } = builtinEngine();
    engine.process([exec(argv, { ancestry: [] })]);
    return alerts.filter((a) => a.ruleId === 'sensor.tamper').map((a) => [a.severity, a.reason] as const);
  };
  assert.equal(ranked(['strace', '-p', '777'])[0]?.[0], 'critical');
  assert.equal(ranked(['gdb', '-p', '777', '-batch'])[0]?.[0], 'critical');
  assert.equal(ranked(['gdb', '--pid=777'])[0]?.[0], 'critical');
  assert.equal(ranked(['renice', '-n', '19', '-p', '777'])[0]?.[0], 'high');
  assert.match(ranked(['prlimit', '--pid', '777', '--cpu=1'])[0]![1], /prlimit aimed at the sensor's process 777/);
  assert.equal(ranked(['taskset', '-p', '0x1', '777'])[0]?.[0], 'high');
  // Another process, or a number that is no pid of the sensor's: nothing.
  assert.deepEqual(ranked(['strace', '-p', '4321']), []);
  assert.deepEqual(ranked(['renice', '-n', '5', '-p', '4321']), []);
  assert.deepEqual(ranked(['gdb', '-batch', '-ex', 'bt', './train']), []);
});
