// Benchmarks 1, 2, 3, 5 and 7: storms under no tracer, the full Vigil pipeline and auditd, in
// interleaved repetitions; detection latency; sensor and control-plane footprint.
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  api,
  CLI,
  SENSOR_ENV,
  freePort,
  latencyBetween,
  median,
  quantile,
  scratchDir,
  sh,
  sleep,
  spread,
  startNats,
  startProcess,
  usage,
  waitFor,
} from './lib.mjs';

const REPS = Number(process.env.BENCH_REPS ?? 5);
const dir = scratchDir('vigil-bench-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);
const gpuNode = join(dir, 'nvidiactl');
execFileSync('mknod', [gpuNode, 'c', '1', '7']);

const STORMS = {
  exec: ['exec', '5000'],
  connect: ['connect', '20000'],
  'ioctl-gpu': ['ioctl', gpuNode, '300000'],
  'ioctl-other': ['fionread', '1000000'],
  'ioctl-nv-shaped-on-other': ['ioctl', '/dev/null', '1000000'],
};
// A storm prints its rate and the user and system CPU seconds its processes used per call.
const runStorm = (name) => {
  const [rate, userPerOp, sysPerOp] = execFileSync(storm, STORMS[name], { encoding: 'utf8' })
    .trim()
    .split(' ')
    .map(Number);
  return { rate, userPerOp, sysPerOp };
};

/**
 * The full pipeline on this host (nats-server, control plane storing into chDB, sensor), or with
 * `controlPlane: false` the sensor and nats-server alone: what a training host runs when the control
 * plane and its storage live elsewhere (the stream is created here instead).
 */
async function startVigil({ controlPlane = true } = {}) {
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const nats = await startNats(dir, { stream: !controlPlane });
  const { url, nc } = nats;
  let cp = null;
  if (controlPlane) {
    cp = startProcess(
      process.execPath,
      [CLI, 'control-plane', '--data-dir', join(dir, `ch-${apiPort}`), '--nats', url, '--api-port', String(apiPort)],
      { VIGIL_LOG_LEVEL: 'warn' },
    );
    await waitFor('control plane', async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected');
  }
  let heartbeat = null;
  const sub = nc.subscribe('vigil.sensor.bench.heartbeat', {
    callback: (_e, m) => {
      heartbeat = m.json();
    },
  });
  const sensor = startProcess(
    process.execPath,
    [
      CLI,
      'sensor',
      '--nats',
      url,
      '--host-id',
      'bench',
      '--gpu-device',
      `${gpuNode}=nvidia`,
      '--spool-dir',
      join(dir, `spool-${apiPort}`),
    ],
    SENSOR_ENV,
  );
  await waitFor('sensor probes running', async () => heartbeat?.probes.every((p) => p.state === 'running'), 90000, 200);
  return {
    base,
    url,
    nc,
    sensor,
    cp,
    heartbeat: () => heartbeat,
    stop: async () => {
      await sensor.stop();
      await cp?.stop();
      sub.unsubscribe();
      await nats.stop();
    },
  };
}

function auditdOn() {
  sh('auditctl', ['-D']);
  sh('auditctl', ['-a', 'always,exit', '-F', 'arch=b64', '-S', 'execve,connect,ioctl', '-k', 'vigil-bench']);
  sh('auditctl', ['-e', '1']);
}
function auditdOff() {
  sh('auditctl', ['-D']);
  sh('auditctl', ['-e', '0']);
}

const IDLE_AFTER_MS = 15_000;
const IDLE_MS = 20_000;
const rates = {};
const footprint = { idle: [], storm: {} };
const record = (storm, cond, v) => {
  ((rates[storm] ??= {})[cond] ??= []).push(v);
};
const conditions = ['none', 'sensor', 'vigil', 'auditd'];

// auditd runs only for the storms, and is left as it was found.
const auditdWasRunning = spawnSync('pgrep', ['-x', 'auditd']).status === 0;
if (REPS > 0 && !auditdWasRunning) sh('service', ['auditd', 'start']);

try {
  for (let rep = 0; rep < REPS; rep++) {
    // Rotate the order each repetition so drift does not favour one condition.
    const order = conditions.map((_, i) => conditions[(i + rep) % conditions.length]);
    for (const cond of order) {
      let vigil = null;
      if (cond === 'sensor') vigil = await startVigil({ controlPlane: false });
      if (cond === 'vigil') {
        vigil = await startVigil();
        // Idle is what a running sensor costs, not its start: V8 runs a full, memory-reducing GC about
        // 6 s after start-up settles (--trace-gc: "Mark-Compact (reduce)" 8.4 s after the sensor's
        // start), which cost the sensor 1.8% of a core in the 5-10 s window after its probes ran and
        // 0.0-0.2% in each 5 s window of the next 30 s. Measured from 15 s, for 20 s.
        await sleep(IDLE_AFTER_MS);
        const a = usage(vigil.sensor.child.pid);
        const ca = usage(vigil.cp.child.pid);
        await sleep(IDLE_MS);
        const b = usage(vigil.sensor.child.pid);
        const cb = usage(vigil.cp.child.pid);
        const secs = IDLE_MS / 1000;
        footprint.idle.push({
          sensorCpu: (b.cpu - a.cpu) / secs,
          sensorRss: b.rss,
          sensorPss: b.pss,
          cpCpu: (cb.cpu - ca.cpu) / secs,
          cpRss: cb.rss,
          cpPss: cb.pss,
        });
      }
      if (cond === 'auditd') auditdOn();
      // Every condition first runs an unmeasured exec storm: a sensor runs for days, and what its
      // first second after start costs (JIT compilation, caches filling) is not what it costs a host.
      execFileSync(storm, ['exec', '1000']);
      for (const name of Object.keys(STORMS)) {
        const full = cond === 'vigil';
        const s0 = full ? usage(vigil.sensor.child.pid) : null;
        const c0 = full ? usage(vigil.cp.child.pid) : null;
        const t0 = performance.now();
        record(name, cond, runStorm(name));
        if (full) {
          const secs = (performance.now() - t0) / 1000;
          const s1 = usage(vigil.sensor.child.pid);
          const c1 = usage(vigil.cp.child.pid);
          (footprint.storm[name] ??= []).push({
            sensorCpu: (s1.cpu - s0.cpu) / secs,
            sensorRss: s1.rss,
            sensorPss: s1.pss,
            cpCpu: (c1.cpu - c0.cpu) / secs,
            cpRss: c1.rss,
            cpPss: c1.pss,
          });
        }
      }
      if (cond === 'auditd') auditdOff();
      if (vigil) {
        await sleep(7000);
        const hb = vigil.heartbeat();
        (footprint.losses ??= []).push({
          cond,
          lost: hb.counters.lostEvents,
          dropped: hb.counters.eventsDropped,
          rejects: hb.counters.rejects,
        });
        await vigil.stop();
      }
      process.stderr.write(`rep ${rep + 1}/${REPS} ${cond} done\n`);
    }
  }
} finally {
  if (REPS > 0) auditdOff();
  if (REPS > 0 && !auditdWasRunning) sh('service', ['auditd', 'stop']);
}

// Detection latency: exec of a miner-like command → alert on NATS and in the API.
const vigil = await startVigil();
const fake = join(dir, 'kworkerd');
execFileSync('cp', ['/bin/true', fake]);
const seen = new Map();
const sub = vigil.nc.subscribe('vigil.alerts.>', {
  callback: (_e, m) => {
    const a = m.json();
    if (!seen.has(a.proc?.pid)) seen.set(a.proc?.pid, performance.now());
  },
});
// When each exec event reaches the stream too: the sensor's share of the latency, apart from the
// control plane's.
// The event's own time (the exec in the kernel, on the sensor's wall clock) splits that again: from
// the bench's request to the exec (Node forking and exec'ing the command, no Vigil in it), and from
// the exec to the event on NATS (the probe's flush, the sensor, nats-server).
const eventSeen = new Map();
const wallMs = (perfMs) => performance.timeOrigin + perfMs;
const evSub = vigil.nc.subscribe('vigil.events.>', {
  callback: (_e, m) => {
    for (const e of m.json().events ?? [])
      if (e.kind === 'exec' && !eventSeen.has(e.proc?.pid))
        eventSeen.set(e.proc?.pid, { at: performance.now(), tsMs: Number(BigInt(e.ts) / 1000n) / 1000 });
  },
});
const eventLat = [];
const toExecLat = [];
const execToNatsLat = [];
const natsLat = [];
const apiLat = [];
// The sensor's own split of the exec trials' time (its heartbeats' stage latencies, diffed).
await sleep(5500);
const hbBeforeExecs = vigil.heartbeat();
for (let i = 0; i < 100; i++) {
  // Trials one after another would lock onto the probes' 50 ms ticks (each ends a fixed time after
  // a tick's alert), putting every exec at the same phase of a tick; a random pause of up to two
  // ticks puts them at any phase.
  await sleep(Math.random() * 100);
  const t0 = performance.now();
  // Spawned directly, not through `bash -c`: without SHLVL set (a bench started in the background,
  // `setsid nohup`), bash with a socket on stdin (Node's pipes) at shell level 1 takes itself for a
  // remote shell daemon's and sources ~/.bashrc, whose shell init (pyenv's, say) can run a hundred
  // processes before the command and add their time to every trial.
  const { pid } = spawn(fake, ['-o', 'stratum+tcp://pool.supportxmr.com:3333', '-u', `w${i}`], { stdio: 'ignore' });
  await waitFor('alert on NATS', () => seen.has(pid), 10000, 2);
  natsLat.push(seen.get(pid) - t0);
  const ev = eventSeen.get(pid);
  if (ev) {
    eventLat.push(ev.at - t0);
    toExecLat.push(ev.tsMs - wallMs(t0));
    execToNatsLat.push(wallMs(ev.at) - ev.tsMs);
  }
  await waitFor(
    'alert in the API',
    async () =>
      (await api(vigil.base, '/api/v1/alerts?rule=miner.exec&limit=5')).alerts.some((a) => a.proc?.pid === pid),
    10000,
    5,
  );
  apiLat.push(performance.now() - t0);
}
sub.unsubscribe();
evSub.unsubscribe();
// The sensor's count of records that waited out its longest hold (see BatchMerger), from a heartbeat
// sent after the last trial.
await sleep(6000);
const heldToTimeout = vigil.heartbeat().counters.heldToTimeout;
const execStages = latencyBetween(hbBeforeExecs, vigil.heartbeat());
const hbBeforeConnects = vigil.heartbeat();

/*
 * Detection latency of a connection: a process that has run for a while (its exec long flushed)
 * connects out, and its arguments name a pool (miner.pool-connect). Unlike an exec, the connect is
 * printed at once and then waits in the sensor until the exec and proc probes have flushed past it
 * (BatchMerger.hold), which on a quiet host is the path a reverse tunnel's connect takes too.
 */
const CONNECTER =
  "process.stdin.setEncoding('utf8').on('data', (d) => { const s = require('node:net').connect(Number(d), '127.0.0.1', () => s.destroy()); s.on('error', () => {}); });";
const listener = createServer((s) => s.destroy());
await new Promise((r) => listener.listen(0, '127.0.0.1', r));
const { port } = listener.address();
const poolSeen = new Map();
const connSeen = new Map();
const poolSub = vigil.nc.subscribe('vigil.alerts.>', {
  callback: (_e, m) => {
    const a = m.json();
    if (a.ruleId === 'miner.pool-connect' && !poolSeen.has(a.proc?.pid)) poolSeen.set(a.proc?.pid, performance.now());
  },
});
const connSub = vigil.nc.subscribe('vigil.events.>', {
  callback: (_e, m) => {
    for (const e of m.json().events ?? [])
      if (e.kind === 'connect' && e.connect.dport === port && !connSeen.has(e.proc?.pid))
        connSeen.set(e.proc?.pid, performance.now());
  },
});
const connEventLat = [];
const connAlertLat = [];
for (let i = 0; i < 100; i++) {
  const child = spawn(process.execPath, ['-e', CONNECTER, 'stratum+tcp://pool.supportxmr.com:3333'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // Long enough for its exec to be flushed and stored; the random part puts the connect at any
  // phase of the probes' ticks.
  await sleep(500 + Math.random() * 500);
  const t0 = performance.now();
  child.stdin.write(String(port));
  await waitFor('pool-connect alert on NATS', () => poolSeen.has(child.pid), 10000, 2);
  connAlertLat.push(poolSeen.get(child.pid) - t0);
  await waitFor('connect event on NATS', () => connSeen.has(child.pid), 10000, 2);
  connEventLat.push(connSeen.get(child.pid) - t0);
  child.kill();
}
poolSub.unsubscribe();
connSub.unsubscribe();
listener.close();
await sleep(6000);
const connectHeldToTimeout = vigil.heartbeat().counters.heldToTimeout - heldToTimeout;
const connectStages = latencyBetween(hbBeforeConnects, vigil.heartbeat());
await vigil.stop();

/*
 * The exec storm's rate follows this VM's speed, which drifts by 5-20% from one storm to the next
 * with nothing traced. Its children spend most of a cycle in user space (the dynamic loader), where
 * no probe runs, so the share of the storm's wall time spent in its own user space (rate × user CPU
 * per call) moves with what tracing adds to each cycle (kernel time in the probes, waiting for a
 * core) but not with the host's speed, which scales both. The adjusted overhead compares that share.
 */
const summary = {};
for (const [name, byCond] of Object.entries(rates)) {
  const none = median(byCond.none.map((r) => r.rate));
  const noneShare = median(byCond.none.map((r) => r.rate * r.userPerOp));
  summary[name] = Object.fromEntries(
    Object.entries(byCond).map(([c, runs]) => {
      const rate = spread(runs.map((r) => r.rate));
      const userShare = spread(runs.map((r) => r.rate * r.userPerOp));
      return [
        c,
        {
          ...rate,
          overhead: 1 - rate.median / none,
          userUsPerOp: median(runs.map((r) => r.userPerOp)) * 1e6,
          sysUsPerOp: median(runs.map((r) => r.sysPerOp)) * 1e6,
          userShare,
          adjustedOverhead: 1 - userShare.median / noneShare,
        },
      ];
    }),
  );
}
const fp = (xs, k) => median(xs.map((x) => x[k]));
const tail = (xs) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) });
console.log(
  JSON.stringify(
    {
      reps: REPS,
      storms: summary,
      footprint: {
        idleWindow: { afterMs: IDLE_AFTER_MS, lengthMs: IDLE_MS },
        idle: Object.fromEntries(
          ['sensorCpu', 'sensorRss', 'sensorPss', 'cpCpu', 'cpRss', 'cpPss'].map((k) => [k, fp(footprint.idle, k)]),
        ),
        storm: Object.fromEntries(
          Object.entries(footprint.storm).map(([name, xs]) => [
            name,
            Object.fromEntries(
              ['sensorCpu', 'sensorRss', 'sensorPss', 'cpCpu', 'cpRss', 'cpPss'].map((k) => [k, fp(xs, k)]),
            ),
          ]),
        ),
        losses: footprint.losses,
      },
      detection: {
        trials: natsLat.length,
        heldToTimeout,
        event: { trials: eventLat.length, ...tail(eventLat) },
        toExec: tail(toExecLat),
        execToEvent: tail(execToNatsLat),
        sensorStages: execStages,
        nats: tail(natsLat),
        api: tail(apiLat),
        connect: {
          trials: connAlertLat.length,
          heldToTimeout: connectHeldToTimeout,
          sensorStages: connectStages,
          event: tail(connEventLat),
          nats: tail(connAlertLat),
        },
      },
    },
    null,
    2,
  ),
);
