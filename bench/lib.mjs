// Shared helpers of the benchmarks: processes, sampling, statistics.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'nats';
import { DEFAULT_STREAM_LIMITS, ensureStreams } from '../control-plane/dist/ingest/streams.js';
import { latencyQuantile } from '@vigil/schema';

export const CLI = new URL('../cli/bin/run.js', import.meta.url).pathname;
/** The sensor's environment in the benchmarks: as docker-compose.yml runs it (README, "CLI"). */
export const SENSOR_ENV = { VIGIL_LOG_LEVEL: 'warn', NODE_OPTIONS: '--max-semi-space-size=4' };
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A scratch folder for one run, removed when the process exits: a 10 M-event store takes gigabytes. */
export function scratchDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Median and range. */
export function spread(xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
/**
 * Runs `run(value)` for every condition, `reps` times, in an order rotated per repetition (A B C, B C A,
 * C A B, …) so that drift of the host falls on every condition alike; the results per condition name.
 */
export async function rotated(reps, conditions, run) {
  const names = Object.keys(conditions);
  const runs = Object.fromEntries(names.map((k) => [k, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + rep) % names.length];
      const result = await run(conditions[name]);
      runs[name].push(result);
      process.stderr.write(`rep ${rep + 1}/${reps} ${name}: ${JSON.stringify(result)}\n`);
    }
  }
  return runs;
}

// The API token of every control plane a bench starts (its children inherit it), and that it sends.
process.env.VIGIL_API_TOKEN ||= randomBytes(32).toString('hex');
export const authHeaders = { authorization: `Bearer ${process.env.VIGIL_API_TOKEN}` };

export function startProcess(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), 20000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

const CLK = 100;
/** The fields of /proc/PID/stat (or /proc/PID/task/TID/stat) after the command name (field 3 onwards, 0-based here). */
const statFields = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};
/** utime+stime (s) from stat fields. */
const cpuOf = (f) => (Number(f[11]) + Number(f[12])) / CLK;
/** utime+stime (s) of one process, its threads included. */
export function cpuSeconds(pid) {
  return cpuOf(statFields(pid));
}
/** utime+stime (s), RSS and PSS (bytes) of a pid and its children (one level: bpftrace under the sensor). */
export function usage(pid) {
  const pids = [pid, ...childrenOf(pid)];
  let cpu = 0,
    rss = 0,
    pss = 0;
  for (const p of pids) {
    try {
      const f = statFields(p);
      cpu += cpuOf(f);
      rss += Number(f[21]) * 4096;
      // PSS divides pages shared between processes (LLVM's text among bpftrace processes) among them.
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return { cpu, rss, pss, pids: pids.length };
}

/** CPU seconds (utime+stime) of a process's main thread and of all its other threads together. */
export function threadCpu(pid) {
  const out = { main: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out[tid === String(pid) ? 'main' : 'other'] += cpuSeconds(`${pid}/task/${tid}`);
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** Pids whose parent is `pid`. */
export function childrenOf(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(statFields(d)[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * nats-server with JetStream on a free loopback port (store under `dir`), and a connection to it.
 * `stream`: also the streams, as the control plane creates them, for a sensor on its own.
 */
export async function startNats(dir, { stream = false, bin = 'nats-server' } = {}) {
  const port = await freePort();
  const server = startProcess(bin, ['-js', '-sd', join(dir, `nats-${port}`), '-a', '127.0.0.1', '-p', String(port)]);
  const url = `nats://127.0.0.1:${port}`;
  const nc = await waitFor('nats-server', () => connect({ servers: url }).catch(() => null), 15000, 100);
  if (stream) await ensureStreams(await nc.jetstreamManager(), DEFAULT_STREAM_LIMITS);
  return {
    url,
    nc,
    pid: server.child.pid,
    stop: async () => {
      await nc.close();
      await server.stop();
    },
  };
}

/**
 * A store of `rows` synthetic events (and one alert per 100) under `dir`/ch, seeded by bench/seed.mjs
 * in its own process; what it holds and the seconds it took.
 */
export function seedStore(dir, rows) {
  const t0 = performance.now();
  execFileSync(process.execPath, [new URL('./seed.mjs', import.meta.url).pathname, join(dir, 'ch'), String(rows)], {
    stdio: 'inherit',
    cwd: new URL('../control-plane/', import.meta.url).pathname,
  });
  return { rows, alerts: Math.max(1, Math.floor(rows / 100)), seedSecs: (performance.now() - t0) / 1000 };
}

/** Prints a benchmark's results, the one thing it writes to stdout. */
export const report = (results) => console.log(JSON.stringify(results, null, 2));

/** nats-server and the control plane on the store under `dir`/ch, each on a free loopback port. */
export async function startControlPlane(dir) {
  const nats = await startNats(dir);
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const cp = startProcess(
    process.execPath,
    [CLI, 'control-plane', '--data-dir', join(dir, 'ch'), '--nats', nats.url, '--api-port', String(apiPort)],
    { VIGIL_LOG_LEVEL: 'warn' },
  );
  await waitFor(
    'control plane',
    async () => (await api(base, '/api/v1/status')).controlPlane.nats === 'connected',
    120_000,
  );
  return {
    base,
    nats,
    cp,
    stop: async () => {
      await cp.stop();
      await nats.stop();
    },
  };
}

export async function api(base, path, init) {
  const r = await fetch(`${base}${path}`, { ...init, headers: { ...init?.headers, ...authHeaders } });
  return r.json();
}

export async function waitFor(what, f, ms = 60000, every = 200) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch {
      /* retry */
    }
    await sleep(every);
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}

export const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8' });

// An exec event as the sensor builds it (ancestry four deep), a fresh id and time for each.
export const BENCH_PROC = {
  pid: 1,
  ppid: 4100,
  uid: 1000,
  gid: 1000,
  comm: 'python3',
  exe: '/usr/bin/python3',
  argv: ['python3', 'train.py', '--config', 'configs/llm-7b.yaml'],
  argvTruncated: false,
  cwd: '/home/train',
  cgroupId: 3716,
  cgroup: '/system.slice/slurmstepd.scope/job_4242/step_0',
  containerId: null,
  job: 'slurm:4242',
  startTs: null,
  ancestry: [
    { pid: 4100, comm: 'bash', exe: '/usr/bin/bash', argv: ['bash', 'run.sh'] },
    { pid: 4000, comm: 'slurmstepd', exe: '/usr/sbin/slurmstepd', argv: ['slurmstepd: [4242.0]'] },
    { pid: 1, comm: 'systemd', exe: '/usr/lib/systemd/systemd', argv: ['/sbin/init'] },
  ],
  ancestryTruncated: false,
};
let seq = 0;
/** A fresh exec event for `host`: new id, time and pid each call. */
export function benchEvent(host) {
  const i = seq++;
  return {
    id: randomUUID(),
    v: 1,
    host,
    ts: (BigInt(Date.now()) * 1_000_000n + BigInt(i % 1_000_000)).toString(),
    kind: 'exec',
    proc: { ...BENCH_PROC, pid: 10_000 + (i % 4_000_000) },
    exec: { filename: '/usr/bin/python3', argv: BENCH_PROC.argv, argvTruncated: false, ret: 0 },
  };
}

/**
 * The sensor's stage latencies (heartbeat `latency`) between two heartbeats, as p50, p99 and mean per
 * stage: what the events in between spent where (see HeartbeatV1). Quantiles are bucket bounds.
 */
export function latencyBetween(before, after) {
  const out = {};
  for (const [stage, h] of Object.entries(after?.latency?.stages ?? {})) {
    const b = before?.latency?.stages?.[stage];
    const d = {
      count: h.count - (b?.count ?? 0),
      sumMs: h.sumMs - (b?.sumMs ?? 0),
      maxMs: h.maxMs,
      buckets: h.buckets.map((n, i) => n - (b?.buckets[i] ?? 0)),
    };
    if (d.count === 0) continue;
    out[stage] = {
      count: d.count,
      p50: latencyQuantile(d, 0.5, after.latency.boundsMs),
      p99: latencyQuantile(d, 0.99, after.latency.boundsMs),
      mean: d.sumMs / d.count,
    };
  }
  return out;
}
