import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResponseOrderV1 } from '@vigil/schema';
import { readProc, readProcState } from '../host/procfs.js';
import { KtimeClock } from '../assemble/clock.js';
import { type ExecutorOptions, ResponseExecutor } from './executor.js';
import { descendants } from './target.js';

const clock = new KtimeClock();
const ktimeToWall = (ns: bigint) => BigInt(clock.toWall(Number(ns)));

async function started(cmd: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  return child;
}

/** Dead: gone from /proc, or a zombie its parent has not reaped yet. */
async function dead(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const s = readProcState(pid);
    if (s === null || s === 'Z') return true;
    await sleep(20);
  }
  return false;
}

/** Neither stopped nor killed: still there, running or sleeping (just started, it may still be running). */
const untouched = (pid: number): boolean => ['R', 'S', 'D'].includes(readProcState(pid) ?? '');

const startTsOf = (pid: number) => readProc(pid)!.startTs!.toString();

function order(pid: number, over: Partial<ResponseOrderV1> = {}): ResponseOrderV1 {
  return {
    id: `o-${pid}`,
    v: 1,
    host: 'gpu-1',
    action: 'kill',
    pid,
    startTs: pid === 1 ? '0' : startTsOf(pid),
    requestedBy: 'test',
    reason: '',
    incidentId: null,
    alertId: null,
    dryRun: false,
    issuedTs: '0',
    expiresTs: '0',
    signature: '',
    ...over,
  };
}

/** A stand-in sensor (with a child, as its probes are) and a stand-in nats-server, apart from this test's process. */
async function executorBeside(extra: Partial<ExecutorOptions> = {}): Promise<{
  x: ResponseExecutor;
  sensor: ChildProcess;
  nats: ChildProcess;
  stop: () => void;
}> {
  const sensor = await started('bash', ['-c', 'sleep 30 & wait']);
  // Its child (the probe stand-in) and both images in place: bash forks and each execs after the spawn.
  for (
    let i = 0;
    i < 250 && !(descendants(sensor.pid!).length > 0 && readProc(descendants(sensor.pid!)[0]!)?.startTs);
    i++
  )
    await sleep(20);
  const nats = await started('sleep', ['30']);
  const x = new ResponseExecutor({ selfPid: sensor.pid!, protectedPids: () => [nats.pid!], ktimeToWall, ...extra });
  return {
    x,
    sensor,
    nats,
    stop: () => {
      for (const p of [...descendants(sensor.pid!), sensor.pid!, nats.pid!]) process.kill(p, 'SIGKILL');
    },
  };
}

test('a kill order with the live start time kills the process', async () => {
  const { x, stop } = await executorBeside();
  const target = await started('sleep', ['30']);
  try {
    const r = x.execute(order(target.pid!));
    assert.deepEqual([r.outcome, r.pids], ['killed', [target.pid]]);
    assert.ok(await dead(target.pid!));
  } finally {
    target.kill('SIGKILL');
    stop();
  }
});

test('a start time from the fork record (kernel time on the wall clock) names the same process', async () => {
  const { x, stop } = await executorBeside();
  const target = await started('sleep', ['30']);
  try {
    // The fork record's time lies a little after the rounded-down start ticks.
    const stat = readFileSync(`/proc/${target.pid}/stat`, 'latin1');
    const startTicks = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!);
    const forkWall = ktimeToWall(startTicks * 10_000_000n + 3_000_000n);
    assert.equal(x.guard(target.pid!, forkWall), null);
    assert.match(x.guard(target.pid!, forkWall + 1_000_000_000n) ?? '', /pid was reused/);
  } finally {
    target.kill('SIGKILL');
    stop();
  }
});

test('a start time other than the live process’s (a reused pid) is refused and nothing is signalled', async () => {
  const { x, stop } = await executorBeside();
  const target = await started('sleep', ['30']);
  try {
    const earlier = (BigInt(startTsOf(target.pid!)) - 5_000_000_000n).toString();
    const r = x.execute(order(target.pid!, { startTs: earlier }));
    assert.equal(r.outcome, 'refused');
    assert.match(r.reason, /pid was reused/);
    assert.ok(untouched(target.pid!), `state ${readProcState(target.pid!)}`);
  } finally {
    target.kill('SIGKILL');
    stop();
  }
});

test('pid 1, kernel threads, the sensor, its children, protected processes and the sensor’s ancestors are refused', async () => {
  const { x, sensor, nats, stop } = await executorBeside();
  try {
    const probe = descendants(sensor.pid!)[0]!;
    const kthread = 2;
    const cases: [number, RegExp][] = [
      [1, /pid 1/],
      [kthread, /kernel thread/],
      [sensor.pid!, /is the sensor/],
      [probe, /under the sensor/],
      [nats.pid!, /Vigil's own/],
      [process.pid, /ancestor of the sensor/],
    ];
    for (const [pid, why] of cases) {
      const r = x.execute(order(pid, pid === 1 ? {} : { startTs: startTsOf(pid) }));
      assert.equal(r.outcome, 'refused', `pid ${pid}`);
      assert.match(r.reason, why);
    }
    assert.ok(untouched(probe), 'the probe stand-in still runs');
  } finally {
    stop();
  }
});

test('a tree kill stops and kills bash -> sh -> sleep; a dry run lists the tree and signals nothing', async () => {
  const { x, stop } = await executorBeside();
  const shell = await started('bash', ['-c', 'sh -c "sleep 30; true" & wait']);
  try {
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 2; i++) {
      tree = descendants(shell.pid!);
      await sleep(20);
    }
    assert.equal(tree.length, 2, 'sh and sleep');
    const dry = x.execute(order(shell.pid!, { action: 'kill-tree', dryRun: true }));
    assert.deepEqual([dry.outcome, dry.pids], ['dry-run', [shell.pid, ...tree]]);
    for (const p of [shell.pid!, ...tree]) assert.ok(untouched(p), `pid ${p}: ${readProcState(p)}`);
    const r = x.execute(order(shell.pid!, { id: 'o-tree', action: 'kill-tree' }));
    assert.equal(r.outcome, 'killed');
    assert.deepEqual(new Set(r.pids), new Set([shell.pid, ...tree]));
    assert.equal(r.pids[0], shell.pid);
    for (const p of [shell.pid!, ...tree]) assert.ok(await dead(p), `pid ${p}`);
  } finally {
    shell.kill('SIGKILL');
    stop();
  }
});

/** The pid of the process whose argv is exactly `argv`, once it runs. */
async function pidRunning(argv: string[]): Promise<number> {
  const want = `${argv.join('\0')}\0`;
  for (let i = 0; i < 250; i++) {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readFileSync(`/proc/${d}/cmdline`, 'latin1') === want) return Number(d);
      } catch {}
    }
    await sleep(20);
  }
  throw new Error(`${argv.join(' ')} never ran`);
}

test('a tree kill reaches a process double-forked out of the tree, by the ancestry the sensor saw at its birth', async () => {
  // What the sensor's process cache answers: the test sets it once the escaped process runs.
  let seen: { pid: number; startTs: bigint }[] = [];
  let shellPid = 0;
  const { x, stop } = await executorBeside({ bornUnder: (pid) => (pid === shellPid ? seen : []) });
  // A unique argument tells this test's escaped sleep from any other.
  const tag = `${30 + (process.pid % 1000) / 1000}`;
  const shell = await started('bash', ['-c', `(sleep ${tag} &); sleep 30`]);
  shellPid = shell.pid!;
  const escaped = await pidRunning(['sleep', tag]);
  try {
    assert.notEqual(readProc(escaped)!.ppid, shell.pid, 're-parented away from the shell');
    assert.ok(!descendants(shell.pid!).includes(escaped), '/proc no longer leads from the shell to it');
    const seenBorn = { pid: escaped, startTs: readProc(escaped)!.startTs! };
    const dryRun = () => x.execute(order(shell.pid!, { action: 'kill-tree', dryRun: true })).pids;
    assert.ok(!dryRun().includes(escaped), 'unknown to the sensor, it is not in the tree');
    // A record whose pid now holds another process (another start time) is left alone.
    seen = [{ pid: escaped, startTs: seenBorn.startTs - 10_000_000_000n }];
    assert.ok(!dryRun().includes(escaped), 'a record of another start time is left alone');
    seen = [seenBorn];
    assert.ok(dryRun().includes(escaped), 'the dry run lists it');
    const r = x.execute(order(shell.pid!, { action: 'kill-tree' }));
    assert.equal(r.outcome, 'killed', r.reason);
    assert.ok(r.pids.includes(escaped), `killed ${r.pids.join(' ')}`);
    assert.ok(await dead(escaped), 'the escaped sleep is dead');
    assert.ok(await dead(shell.pid!), 'the shell is dead');
  } finally {
    shell.kill('SIGKILL');
    try {
      process.kill(escaped, 'SIGKILL');
    } catch {}
    stop();
  }
});
