// The sensor in its own process under `vigil up` (the default) against the sensor inside `vigil up`'s
// process, beside the control plane and chDB (--sensor-in-process): an exec storm where every exec
// raises an alert (a binary named like a miner), and how many of those execs never reach the store.
// Usage (root): node bench/sensor-apart.mjs [execs] [reps]
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { api, CLI, freePort, rotated, scratchDir, sleep, waitFor } from './lib.mjs';

const EXECS = Number(process.argv[2] ?? 5000);
const REPS = Number(process.argv[3] ?? 2);
const HOST = 'bench-apart';
const dir = scratchDir('vigil-bench-apart-');
const storm = join(dir, 'storm');
execFileSync('cc', ['-O2', '-o', storm, new URL('./storm.c', import.meta.url).pathname]);
// miner.exec fires on the name alone: one alert per exec (the throttle is per process).
const miner = join(dir, 'xmrig');
execFileSync('cp', ['/bin/true', miner]);

const sql = async (base, q) =>
  (
    await api(base, '/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: q }),
    })
  ).rows[0];

async function run(mode) {
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const data = join(dir, `data-${apiPort}`);
  const up = spawn(
    process.execPath,
    [
      CLI,
      'up',
      '--data-dir',
      data,
      '--api-port',
      String(apiPort),
      '--nats-port',
      String(await freePort()),
      '--host-id',
      HOST,
      '--probe',
      'exec',
      ...(mode === 'in-process' ? ['--sensor-in-process'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' } },
  );
  let err = '';
  up.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const exited = new Promise((r) => up.once('exit', r));
  try {
    const sensor = async () => (await api(base, '/api/v1/status')).sensors.find((s) => s.host === HOST);
    await waitFor(
      'vigil up with its sensor',
      async () => (await sensor())?.probes.every((p) => p.state === 'running'),
      120_000,
      500,
    );
    // Warm-up: a sensor runs for days; its first second (JIT, caches) is not what it costs a host.
    execFileSync(storm, ['exec', '1000']);
    await sleep(3000);
    const before = await sensor();
    const [rate] = execFileSync(storm, ['exec', String(EXECS), miner], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    // Drained: the stored count stays put for 5 s (the sensor holds nothing back longer).
    let stored = -1;
    for (let still = 0; still < 5; ) {
      await sleep(1000);
      const n = Number(
        (
          await sql(
            base,
            `SELECT uniqExact(pid) AS n FROM events WHERE host = '${HOST}' AND kind = 'exec' AND comm = 'xmrig'`,
          )
        ).n,
      );
      still = n === stored ? still + 1 : 0;
      stored = n;
    }
    const after = await sensor();
    const alerts = Number((await sql(base, `SELECT count() AS n FROM alerts WHERE rule_id = 'miner.exec'`)).n);
    const c = (k) => after.counters[k] - before.counters[k];
    return {
      rate,
      execs: EXECS,
      stored,
      lost: EXECS - stored,
      lostShare: (EXECS - stored) / EXECS,
      alerts,
      probeLost: c('lostEvents'),
      sensorDropped: c('eventsDropped'),
    };
  } catch (e) {
    throw new Error(`${e.message}\n${err}`);
  } finally {
    up.kill('SIGINT');
    const t = setTimeout(() => up.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
}

const runs = await rotated(REPS, { 'in-process': 'in-process', separate: 'separate' }, run);
const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0);
const summary = Object.fromEntries(
  Object.entries(runs).map(([k, xs]) => [
    k,
    {
      execs: sum(xs, 'execs'),
      lost: sum(xs, 'lost'),
      lostShare: sum(xs, 'lost') / sum(xs, 'execs'),
      probeLost: sum(xs, 'probeLost'),
      sensorDropped: sum(xs, 'sensorDropped'),
      alerts: sum(xs, 'alerts'),
      rates: xs.map((x) => x.rate),
    },
  ]),
);
console.log(JSON.stringify({ execs: EXECS, reps: REPS, summary, runs }, null, 2));
