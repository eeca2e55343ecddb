/**
 * exec.bt and proc.bt buffer in kernel maps between flushes. On the live kernel: what is buffered
 * when bpftrace is stopped still comes out, and when a map is full the missing entries are counted,
 * never silently gone; a reader that falls behind or a stop at the wrong moment loses nothing; a record
 * printed at once is soon followed by their end-of-flush records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import {
  DEFAULT_PROBES_DIR,
  FLUSH_MS,
  HOLD_MS,
  PROBES,
  BatchCollector,
  composeProbes,
  parseBpftraceLine,
  standaloneProbe,
  startSensor,
} from '@vigil/sensor';
import type { EventV1 } from '@vigil/schema';
import { freePort, REPO, tempDir, waitFor } from '../support/harness.js';

type BpftraceLine = ReturnType<typeof parseBpftraceLine>;

/**
 * bpftrace running `script`, each parsed output line handed to `onLine`. `started` resolves once the
 * probes are attached (the ready record [0, ns]) and rejects if bpftrace exits first; `stop` sends
 * SIGINT (END prints what the maps still hold) and expects a clean exit.
 */
function startBpftrace(script: string, args: string[], env: Record<string, string>, onLine: (l: BpftraceLine) => void) {
  const child = spawn('bpftrace', ['-f', 'json', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    const l = parseBpftraceLine(line);
    if (l.type === 'value' && (l.data as number[])[0] === 0) ready();
    onLine(l);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    started: Promise.race([
      isReady,
      exited.then(() => {
        throw new Error(`bpftrace exited: ${stderr}`);
      }),
    ]),
    stop: async () => {
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
    },
  };
}

/** The four probes composed into one script in `dir`, as the sensor runs them, under bpftrace. */
function startComposed(
  dir: string,
  ctx: { windowSeconds: number; extraRdevs: number[] },
  onLine: (l: BpftraceLine) => void,
) {
  const names = ['exec', 'proc', 'connect', 'gpu'] as const;
  const devices = { majors: { nvidia: -1, nvidiaUvm: -1, kfd: -1, drm: -1 }, extraRdevs: () => ctx.extraRdevs };
  const script = join(dir, 'composed.bt');
  writeFileSync(
    script,
    composeProbes(
      names.map((n) => ({
        name: n,
        text: readFileSync(join(DEFAULT_PROBES_DIR, PROBES[n].script), 'utf8'),
        args: PROBES[n].args({ windowSeconds: ctx.windowSeconds, devices: devices as never }),
      })),
    ),
  );
  return startBpftrace(script, [], Object.assign({}, ...names.map((n) => PROBES[n].env)), onLine);
}

/** Probe `name` as a program of its own in a fresh folder (the prelude, then the file), as the sensor runs it alone. */
function aloneScript(name: keyof typeof PROBES): string {
  const script = join(tempDir(`${name}-alone`), PROBES[name].script);
  writeFileSync(
    script,
    standaloneProbe({ name, text: readFileSync(join(DEFAULT_PROBES_DIR, PROBES[name].script), 'utf8') }),
  );
  return script;
}

/** A stand-in GPU node in `dir` (the probe takes its device number as an extra GPU node), and nv-ioctl built to call it. */
function nvIoctlOn(dir: string): { node: string; rdev: number; nvIoctl: string } {
  const node = join(dir, 'nvidiactl');
  execFileSync('mknod', [node, 'c', '1', '7']);
  const nvIoctl = join(dir, 'nv-ioctl');
  execFileSync('cc', ['-O2', '-o', nvIoctl, join(REPO, 'test', 'support', 'nv-ioctl.c')]);
  return { node, rdev: (1 << 20) | 7, nvIoctl };
}

type Flushed = {
  records: { type: string; pid?: number; ppid?: number; argv?: string[]; filename?: string }[];
  lost: number;
  rejects: number;
};

/** Runs one buffering probe alone around `work`, by default with a flush interval longer than the test. */
async function runProbe(
  name: 'exec' | 'proc',
  env: Record<string, string>,
  work: (bpftracePid: number) => void | Promise<void>,
  flushMs = 600_000,
): Promise<Flushed> {
  const spec = PROBES[name];
  const out: Flushed = { records: [], lost: 0, rejects: 0 };
  const batch = new BatchCollector();
  const bt = startBpftrace(aloneScript(name), [String(flushMs)], { ...spec.env, ...env }, (l) => {
    if (l.type === 'map')
      for (const [n, m] of Object.entries(l.data as Record<string, unknown>))
        batch.push(n, m as Record<string, unknown>);
    else if (l.type === 'value' && (l.data as number[])[0] === spec.batch.flushType) {
      const res = spec.batch.decode(batch.end(), batch.before);
      out.records.push(...res.records);
      out.lost += res.lost;
      out.rejects += res.rejects;
    }
  });
  await bt.started;
  await work(bt.child.pid!);
  await bt.stop();
  return out;
}

test('exec.bt: execs still buffered when bpftrace stops are printed on the way out', { timeout: 60_000 }, async () => {
  const marker = `vigil-flush-${process.pid}`;
  const res = await runProbe('exec', {}, () => {
    for (let i = 0; i < 3; i++) execFileSync('/bin/echo', [marker, String(i)]);
  });
  const mine = res.records.filter((r) => r.argv?.[1] === marker);
  assert.deepEqual(mine.map((r) => r.argv?.[2]).sort(), ['0', '1', '2'], 'no periodic flush ran: these came from END');
  for (const r of mine) assert.equal(r.filename, '/bin/echo');
  assert.equal(res.lost, 0);
  assert.equal(res.rejects, 0);
});

/**
 * Execs without pause for 3 s while bpftrace (`pid`) is stopped for five ticks of 20 ms at a time;
 * returns the loop's pid and how many execs it made.
 */
async function execWhileReaderLags(pid: number, marker: string): Promise<{ loopPid: number; executed: number }> {
  const loop = spawn(
    '/bin/bash',
    [
      '-c',
      `i=0; end=$((SECONDS+3)); while [ $SECONDS -lt $end ]; do /bin/true ${marker} $i; i=$((i+1)); done; echo $i`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  loop.stdout.on('data', (d) => {
    out += d;
  });
  const done = new Promise((r) => loop.once('close', r));
  for (let k = 0; k < 12; k++) {
    process.kill(pid, 'SIGSTOP');
    await sleep(100);
    process.kill(pid, 'SIGCONT');
    await sleep(100);
  }
  await done;
  await sleep(200);
  const executed = Number(out.trim());
  assert.ok(executed > 100, `the loop ran: ${executed} execs`);
  return { loopPid: loop.pid!, executed };
}

// Each tick flips the set writers fill and queues a print and a clear of the other for bpftrace to
// carry out. Flipping back to a set whose print and clear were still queued let writers fill it
// between the two, and the clear took those entries unprinted.
test('exec.bt: a reader a tick or more behind loses no exec', { timeout: 60_000 }, async () => {
  const marker = `vigil-lag-${process.pid}`;
  let executed = 0;
  const res = await runProbe(
    'exec',
    {},
    async (pid) => {
      ({ executed } = await execWhileReaderLags(pid, marker));
    },
    20,
  );
  const mine = new Set(res.records.filter((r) => r.argv?.[1] === marker).map((r) => Number(r.argv?.[2])));
  assert.equal(
    mine.size,
    executed,
    `every exec of the loop: ${executed - mine.size} missing, ${res.lost} counted lost`,
  );
  assert.equal(res.lost, 0);
  assert.equal(res.rejects, 0);
});

test('proc.bt: a reader a tick or more behind loses no fork or exit', { timeout: 60_000 }, async () => {
  let loop = { loopPid: 0, executed: 0 };
  const res = await runProbe(
    'proc',
    {},
    async (pid) => {
      loop = await execWhileReaderLags(pid, 'vigil-lag');
    },
    20,
  );
  const children = new Set(
    res.records.filter((r) => r.type === 'proc.fork' && r.ppid === loop.loopPid).map((r) => r.pid),
  );
  const exited = new Set(res.records.filter((r) => r.type === 'proc.exit').map((r) => r.pid));
  assert.equal(
    children.size,
    loop.executed,
    `every fork of the loop: ${loop.executed - children.size} missing, ${res.lost} counted lost`,
  );
  assert.deepEqual([...children].filter((p) => !exited.has(p!)).length, 0, 'every exit of its children');
  assert.equal(res.lost, 0);
  assert.equal(res.rejects, 0);
});

/**
 * Runs a window probe with 1 s windows while `load` makes calls flat out, and stops bpftrace for
 * 2.2 s (two window ends) twice meanwhile: the previous probes flipped back to a set whose print and
 * clear were still queued. Returns the calls printed at once (value records `firstType` that `isMine`)
 * and counted in windows (count map keys that `isMineKey`), and how many `load` says it made.
 */
async function windowProbeWhileReaderLags(
  probe: 'connect' | 'gpu',
  args: string[],
  firstType: number,
  isMine: (v: number[]) => boolean,
  isMineKey: (key: string) => boolean,
  load: (running: () => boolean) => Promise<number>,
): Promise<{ firsts: number; repeats: number; made: number }> {
  let firsts = 0;
  let repeats = 0;
  const countPrefix = `@${PROBES[probe].window}_count`;
  const bt = startBpftrace(aloneScript(probe), args, {}, (l) => {
    if (l.type === 'value') {
      const v = l.data as number[];
      if (v[0] === firstType && isMine(v)) firsts++;
    } else if (l.type === 'map') {
      for (const [name, entries] of Object.entries(l.data as Record<string, Record<string, number>>)) {
        if (!name.startsWith(countPrefix)) continue;
        for (const [key, n] of Object.entries(entries)) if (isMineKey(key)) repeats += n;
      }
    }
  });
  let running = true;
  let made = 0;
  try {
    await bt.started;
    const loaded = load(() => running);
    for (let k = 0; k < 2; k++) {
      bt.child.kill('SIGSTOP');
      await sleep(2200);
      bt.child.kill('SIGCONT');
      await sleep(1000);
    }
    running = false;
    made = await loaded;
    await sleep(1500);
  } finally {
    running = false;
    bt.child.kill('SIGCONT');
    await bt.stop();
  }
  return { firsts, repeats, made };
}

test('connect.bt: a reader a window or more behind loses no repeat count', { timeout: 60_000 }, async () => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const { firsts, repeats, made } = await windowProbeWhileReaderLags(
      'connect',
      ['1'],
      20,
      (v) => v[2] === process.pid && v[8] === port,
      (key) => key.startsWith(`${process.pid},2,${port},`),
      async (running) => {
        let n = 0;
        while (running()) {
          await new Promise<void>((r, j) => {
            const s = connect(port, '127.0.0.1', () => {
              s.destroy();
              r();
            });
            s.once('error', j);
          });
          n++;
        }
        return n;
      },
    );
    assert.ok(made > 100, `the loop ran: ${made} connects`);
    assert.equal(
      firsts + repeats,
      made,
      `each of ${made} connects printed at once or counted in a window: ${firsts} + ${repeats}`,
    );
  } finally {
    server.close();
  }
});

test('gpu.bt: a reader a window or more behind loses no repeat count', { timeout: 60_000 }, async () => {
  // nv-ioctl makes four NVIDIA-shaped calls per repeat on a stand-in node (the probe takes its device
  // number as an extra GPU node), in loops until told to stop.
  const { node, rdev, nvIoctl } = nvIoctlOn(tempDir('gpu-lag'));
  const absent = '4096';
  const pids = new Set<number>();
  const isMineKey = (key: string) => {
    const [pid, dev] = key.split(',').map(Number);
    return pids.has(pid!) && dev === rdev;
  };
  const { firsts, repeats, made } = await windowProbeWhileReaderLags(
    'gpu',
    ['1', absent, absent, absent, absent, String(rdev), '0', '0', '0'],
    30,
    (v) => pids.has(v[2]!) && v[7] === rdev,
    isMineKey,
    async (running) => {
      let n = 0;
      while (running()) {
        // Off CPU 0, where the ticks run: a tick that lands while a tracepoint's program runs on the
        // same CPU is skipped, and the window then just goes on.
        const p = spawn('/usr/bin/taskset', ['-c', String(availableParallelism() - 1), nvIoctl, node, '20000'], {
          stdio: 'ignore',
        });
        pids.add(p.pid!);
        const code = await new Promise((r) => p.once('exit', r));
        assert.equal(code, 0);
        n += 4 * 20000;
      }
      return n;
    },
  );
  assert.ok(made >= 80000, `nv-ioctl ran: ${made} calls`);
  assert.equal(
    firsts + repeats,
    made,
    `each of ${made} calls printed at once or counted in a window: ${firsts} + ${repeats}`,
  );
});

// bpftrace 0.17 notices a SIGINT only when it interrupts its wait for output or when a record follows
// it: one that lands while bpftrace is busy or waiting for a CPU left a quiet probe running until the
// sensor killed it, END unprinted. The prelude every program starts with prints a record when a
// SIGINT is sent to a bpftrace; shown here on another bpftrace, since the one stopping drops what it
// reads after the signal. Composed, the four probes share one prelude, so one record.
test('the composed program prints its wake record at once, once, when a SIGINT is sent to a bpftrace', {
  timeout: 90_000,
}, async () => {
  const wakes: number[] = [];
  const watcher = startComposed(tempDir('wake'), { windowSeconds: 60, extraRdevs: [] }, (l) => {
    if (l.type === 'value' && (l.data as number[])[0] === 99) wakes.push((l.data as number[])[1]!);
  });
  try {
    await watcher.started;
    // A bpftrace with nothing to print, stopped the way the sensor stops its own.
    const other = startBpftrace(aloneScript('connect'), ['60'], {}, () => {});
    await other.started;
    assert.equal(wakes.length, 0, 'nothing before the signal');
    await other.stop();
    await waitFor('a wake record', () => wakes.length >= 1, 5_000, 20);
    // Whatever else the watcher prints about the signal has been read once its next flush is (50 ms).
    await sleep(500);
    assert.equal(wakes.length, 1, 'one for the composed program: the prelude is in it once');
  } finally {
    await watcher.stop();
  }
});

test('exec.bt and proc.bt: a full map loses entries, and every lost one is counted', { timeout: 60_000 }, async () => {
  const keys = 8;
  const runs = 40;
  const execs = await runProbe('exec', { BPFTRACE_MAP_KEYS_MAX: String(keys) }, () => {
    for (let i = 0; i < runs; i++) execFileSync('/bin/true', ['a', 'b']);
  });
  const heads = execs.records.length;
  assert.ok(heads <= keys, `at most ${keys} execs fit, got ${heads}`);
  // Each exec writes a head (with its path) and its arguments; at most `keys` heads and `keys`
  // arguments fit. Every exec whose head did not fit counts once, and so does every argument a
  // received head misses.
  const argvSlots = execs.records.reduce((n, r) => n + (r.argv?.length ?? 0), 0);
  assert.ok(execs.lost >= runs - heads + Math.max(0, argvSlots - keys), `lost entries counted: ${execs.lost}`);

  const procs = await runProbe('proc', { BPFTRACE_MAP_KEYS_MAX: String(keys) }, () => {
    for (let i = 0; i < runs; i++) execFileSync('/bin/true');
  });
  const forks = procs.records.filter((r) => r.type === 'proc.fork').length;
  const exits = procs.records.filter((r) => r.type === 'proc.exit').length;
  assert.ok(forks <= keys && exits <= keys);
  assert.ok(procs.lost >= 2 * runs - forks - exits, `every fork and exit beyond the map is counted: ${procs.lost}`);
});

test("composed probes: whatever the sensor holds is followed within the hold by exec.bt's and proc.bt's end-of-flush records", {
  timeout: 60_000,
}, async () => {
  // The sensor holds a record until both batch probes have flushed past it. Idle, they print that
  // record only once a second unless asked, so without the request most connects and GPU calls
  // (printed at once) and exits (proc.bt's flush, exec.bt idle) of a quiet host would be let go by
  // the hold timeout instead, HOLD_MS late.
  const dir = tempDir('marks');
  // A program that makes NVIDIA-shaped ioctls on a stand-in GPU node.
  const { node: gpuNode, rdev, nvIoctl } = nvIoctlOn(dir);
  const values: number[][] = [];
  const exits = new Map<number, number>();
  const bt = startComposed(dir, { windowSeconds: 10, extraRdevs: [rdev] }, (l) => {
    if (l.type === 'map') {
      for (const [name, entries] of Object.entries(l.data as Record<string, Record<string, unknown>>)) {
        if (!name.startsWith('@proc_exit')) continue;
        for (const key of Object.keys(entries)) {
          const [pid, ns] = key.split(',').map(Number);
          exits.set(pid!, ns!);
        }
      }
    }
    if (l.type === 'value') values.push(l.data as number[]);
  });
  const shells: number[] = [];
  const gpuCallers: number[] = [];
  try {
    await bt.started;
    const servers: Server[] = [];
    for (let i = 0; i < 6; i++) {
      // A new destination each time (a repeat in the window is only counted), at a random phase
      // against the probes' ticks and their once-a-second idle record.
      await sleep(250 + Math.random() * 500);
      const server = createServer((s) => s.destroy());
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      await new Promise<void>((r, j) => {
        const s = connect((server.address() as AddressInfo).port, '127.0.0.1', () => {
          s.destroy();
          r();
        });
        s.once('error', j);
      });
      await sleep(250 + Math.random() * 500);
      // Its calls 300 ms after its exec and before its exit: the batch probes are idle meanwhile.
      const gpu = spawn(nvIoctl, [gpuNode, '1', '300'], { stdio: 'ignore' });
      gpuCallers.push(gpu.pid!);
      await new Promise((r) => gpu.once('exit', r));
      // A shell that exits 100 ms after its last exec (sleep's): a flush of proc.bt alone.
      await sleep(250 + Math.random() * 500);
      const sh = spawn('/bin/sh', ['-c', 'sleep 0.1; exit 0'], { stdio: 'ignore' });
      shells.push(sh.pid!);
      await new Promise((r) => sh.once('exit', r));
    }
    await sleep(4 * FLUSH_MS);
    for (const s of servers) s.close();
  } finally {
    await bt.stop();
  }
  const connects = values.filter((v) => v[0] === 20 && v[2] === process.pid).map((v) => ['connect', v[1]!] as const);
  assert.equal(connects.length, 6, 'every connect printed at once');
  // Each nv-ioctl's first call; the probe prints a (process, device, request, class) once a window.
  const gpuCalls = gpuCallers.map(
    (pid) => ['gpu', Math.min(...values.filter((v) => v[0] === 30 && v[2] === pid).map((v) => v[1]!))] as const,
  );
  assert.ok(
    gpuCalls.every(([, ns]) => Number.isFinite(ns)),
    "every nv-ioctl's calls printed at once",
  );
  const shellExits = shells.map((pid) => ['exit', exits.get(pid)] as const);
  assert.ok(
    shellExits.every(([, ns]) => ns !== undefined),
    'every shell exit flushed',
  );
  const holdNs = HOLD_MS * 1e6;
  for (const [what, ns] of [...connects, ...gpuCalls, ...shellExits]) {
    for (const flushType of [PROBES.exec.batch.flushType, PROBES.proc.batch.flushType]) {
      const next = Math.min(...values.filter((v) => v[0] === flushType && v[1]! > ns!).map((v) => v[1]!));
      assert.ok(
        next - ns! <= holdNs,
        `${what}: record ${flushType} ${((next - ns!) / 1e6).toFixed(0)} ms after it (hold ${HOLD_MS} ms)`,
      );
    }
  }
});

test('sensor: connects repeated through a window, counted in the kernel, are not left to the hold timeout either', {
  timeout: 120_000,
}, async () => {
  // A window's counts are printed at its end and carry the time of the last repeat: held like a
  // connect until both batch probes have flushed past it.
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    // dns prints at once, as connect does, and has no flush: the hold must not wait for it.
    probes: ['exec', 'proc', 'connect', 'dns'],
    windowSeconds: 1,
    log: pino({ level: 'silent' }),
  });
  const server = createServer((s) => s.destroy());
  try {
    await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await sleep(1500);
    const before = { held: sensor.heartbeat().counters.heldToTimeout!, built: sensor.counters.eventsBuilt };
    // Bursts of repeats every 50 ms, each spanning a window's end and then stopping for longer than
    // a window, so nothing else asks the batch probes for their record after the last window's print.
    for (let burst = 0; burst < 6; burst++) {
      // An exec at a random moment: idle probes count their once-a-second record from their last
      // flush, so this puts it at a random phase against the window's print.
      await sleep(Math.random() * 1000);
      execFileSync('/bin/true');
      const until = performance.now() + 1200;
      while (performance.now() < until) {
        await new Promise<void>((r, j) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            r();
          });
          s.once('error', j);
        });
        await sleep(50);
      }
      await sleep(1500);
    }
    const after = { held: sensor.heartbeat().counters.heldToTimeout!, built: sensor.counters.eventsBuilt };
    assert.ok(
      after.built - before.built >= 12,
      `a connect at once and a window of repeats per burst at least: ${after.built - before.built} events`,
    );
    assert.equal(after.held - before.held, 0, 'records let go by the hold timeout');
  } finally {
    server.close();
    await sensor.stop();
  }
});

test("sensor: stopped before bpftrace has read a tick's flush, every exec, exit and repeated connect still comes out", {
  timeout: 120_000,
}, async () => {
  // On SIGINT bpftrace stops reading, runs END, then drains every CPU's buffer in epoll's order. A
  // tick (always on CPU 0) that flipped the epoch and asked for the idle set to be printed can then
  // be drained after END, which has cleared that set meanwhile: the tick prints it empty, and a
  // flush's execs and their count were gone without a trace. To drain END's CPU first: bpftrace runs
  // on the last CPU, that CPU's buffer is made ready first (a failed exec there) while bpftrace is
  // stopped, then a tick fires, then SIGINT and SIGCONT.
  const cpus = availableParallelism();
  assert.ok(cpus >= 2, "the race needs a CPU besides the ticks' CPU 0");
  const last = String(cpus - 1);
  const dir = tempDir('stop-race');
  const spoolDir = join(dir, 'spool');
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc', 'connect'],
    windowSeconds: 60,
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  const server = createServer((s) => s.destroy());
  const marker = `vigil-stop-race-${process.pid}`;
  const N = 20;
  const CONNECTS = 6;
  const pids: number[] = [];
  let port = 0;
  let btPid = 0;
  let sigintPending = false;
  try {
    await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
    btPid = sensor.heartbeat().probes[0]!.pid!;
    execFileSync('taskset', ['-a', '-p', '-c', last, String(btPid)], { stdio: 'ignore' });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    // The first connect is printed at once, the repeats only counted, in a window that outlasts the test.
    for (let i = 0; i < CONNECTS; i++) {
      await new Promise<void>((r, j) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          r();
        });
        s.once('error', j);
      });
    }
    await sleep(4 * FLUSH_MS);
    process.kill(btPid, 'SIGSTOP');
    // By full path: a PATH search would fail execs of its own first, on whatever CPU.
    spawnSync('/usr/bin/taskset', ['-c', last, join(dir, 'no-such-program')]);
    for (let i = 0; i < N; i++) {
      // A tick between the halves: each of the two sets of maps holds execs, and END prints both.
      if (i === N / 2) await sleep(3 * FLUSH_MS);
      pids.push(spawnSync('/bin/true', [marker, String(i)]).pid);
    }
    await sleep(3 * FLUSH_MS);
  } finally {
    server.close();
    const stopping = sensor.stop();
    // SIGCONT only once the sensor's SIGINT is pending, so that bpftrace wakes to it and not to the tick.
    if (btPid) {
      sigintPending = await waitFor(
        'SIGINT pending',
        () => /^ShdPnd:\s*[0-9a-f]*[2367abef]$/m.test(readFileSync(`/proc/${btPid}/status`, 'utf8')),
        10_000,
        5,
      ).then(
        () => true,
        () => false,
      );
      process.kill(btPid, 'SIGCONT');
    }
    await stopping;
  }
  const events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
  assert.ok(sigintPending, "the sensor's SIGINT reached bpftrace while it was stopped");
  const execs = events
    .filter((e) => e.kind === 'exec' && e.exec.argv[1] === marker)
    .map((e) => (e.kind === 'exec' ? Number(e.exec.argv[2]) : -1));
  assert.deepEqual(
    execs.sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i),
    'every exec of the unread flush, once',
  );
  const exited = new Set(events.filter((e) => e.kind === 'exit').map((e) => e.proc.pid));
  assert.deepEqual(
    pids.filter((p) => !exited.has(p)),
    [],
    'every exit of the unread flush',
  );
  const connects = events.filter((e) => e.kind === 'connect' && e.proc.pid === process.pid && e.connect.dport === port);
  assert.equal(
    connects.reduce((n, e) => n + (e.kind === 'connect' ? e.connect.count : 0), 0),
    CONNECTS,
    "the first connect and the window's repeats",
  );
  assert.equal(sensor.counters.lostEvents, 0);
  assert.equal(sensor.counters.eventsDropped, 0);
});
