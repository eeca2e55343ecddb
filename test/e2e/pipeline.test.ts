/**
 * End to end on this host, as root, with nothing mocked: `vigil up` (nats-server with JetStream, the
 * control plane on embedded chDB, the sensor running the real bpftrace probes), real processes doing
 * real syscalls, and the results read back through `vigil events --json` as a user would.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { AlertV1, EventV1, ExecEventV1, GpuEventV1, ConnectEventV1 } from '@vigil/schema';
import { REPO, type startVigil, startVigilUp, tempDir, vigil, vigilJson, waitFor } from '../support/harness.js';

interface Status {
  sensors: {
    host: string;
    probes: {
      name: string;
      state: string;
      pid?: number;
      restarts: number;
      lastExitTs?: string;
      lastRestartTs?: string;
    }[];
    counters: { eventsPublished: number; rejects: Record<string, number> };
    footprint?: { processCpuSeconds?: number; probeCpuSeconds?: number };
    latency?: { stages: Record<string, { count: number; buckets: number[] }> };
  }[];
}

const HOST = `e2e-${process.pid}`;
const dir = tempDir('e2e');
const gpuNode = join(dir, 'nvidiactl');
const nvIoctl = join(dir, 'nv-ioctl');
let api = '';
let up: ReturnType<typeof startVigil>;

const events = <T extends EventV1>(args: string[]) =>
  vigilJson<T[]>(api, ['events', '--host', HOST, '--limit', '1000', ...args]);

before(async () => {
  // A test GPU node: a character device that opens without a GPU (1:7 is /dev/full's number); the
  // sensor is told to treat it as an NVIDIA frontend node.
  execFileSync('mknod', [gpuNode, 'c', '1', '7']);
  execFileSync('cc', ['-O2', '-o', nvIoctl, join(REPO, 'test', 'support', 'nv-ioctl.c')]);
  ({ api, up } = await startVigilUp(join(dir, 'data'), HOST, [
    '--gpu-device',
    `${gpuNode}=nvidia`,
    '--window-seconds',
    '1',
    // Every probe, dns too (asked for by name): the composed program with all of them.
    ...['exec', 'proc', 'connect', 'gpu', 'dns'].flatMap((p) => ['--probe', p]),
  ]));
});

after(async () => {
  const code = await up?.stop();
  assert.equal(code, 0, `vigil up exits cleanly on SIGINT\n${up?.logs.join('').slice(-2000)}`);
  const left = spawnSync('pgrep', ['-f', `probes/(exec|proc|connect|gpu).bt`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', 'no bpftrace left behind');
});

test('a process with a unique, hostile argv appears with its parent chain, byte for byte', async () => {
  const marker = `vigil-e2e-${randomUUID()}`;
  const t0 = Date.now();
  // node (this test) → bash → sh → /bin/echo, with quotes, braces, a newline and invalid UTF-8
  // (the trailing `; true`s keep bash and sh from exec-ing their last command in place).
  spawnSync(
    'bash',
    [
      '-c',
      `sh -c '/bin/echo "$@" >/dev/null; true' sh ${marker} 'quo"te' '{"kind":"gpu"}' "$(printf 'two\\nlines')" $'\\xff\\xfe!' ${'L'.repeat(300)}; true`,
    ],
    { stdio: 'ignore' },
  );
  const ev = await waitFor(
    'the exec in vigil events',
    () => events<ExecEventV1>(['--kind', 'exec', '--comm', 'echo']).find((e) => e.exec.argv[1] === marker),
    30_000,
    250,
  );
  const seenMs = Date.now() - t0;
  assert.deepEqual(ev.exec.argv, [
    '/bin/echo',
    marker,
    'quo"te',
    '{"kind":"gpu"}',
    'two\nlines',
    '\\xff\\xfe!',
    'L'.repeat(199),
  ]);
  assert.equal(ev.exec.argvTruncated, true, 'the 300-byte argument is stored cut, and flagged');
  assert.equal(ev.exec.ret, 0);
  assert.equal(ev.exec.filename, '/bin/echo');
  assert.equal(ev.proc.exe, '/usr/bin/echo');
  assert.equal(ev.kind, 'exec');
  const chain = ev.proc.ancestry.map((a) => a.comm);
  assert.equal(chain[0], 'sh', `parent chain: ${chain.join(' < ')}`);
  assert.equal(chain[1], 'bash');
  assert.ok(
    ev.proc.ancestry.some((a) => a.pid === process.pid),
    'the chain reaches the test process',
  );
  assert.equal(ev.proc.ancestry.at(-1)?.pid, 1, 'and runs up to pid 1');
  assert.equal(ev.proc.ancestryTruncated, false);
  const exit = await waitFor('its exit', () =>
    events<EventV1>(['--kind', 'exit', '--pid', String(ev.proc.pid)]).find((e) => e.kind === 'exit'),
  );
  assert.deepEqual(exit.kind === 'exit' && exit.exit, { code: 0, signal: null });
  console.log(`# exec → visible in vigil events: ${seenMs} ms (includes polling every 250 ms)`);
});

test('a failed exec appears with its error, the path and argv it was given, and the caller', async () => {
  const marker = `vigil-e2e-fail-${randomUUID()}`;
  const path = join(dir, 'no-such-dir', 'miner');
  // bash's child tries to exec a path that does not exist: execve returns ENOENT; the argv and path
  // are read back from the failed call's saved registers.
  spawnSync('bash', ['-c', '"$0" "$@"; true', path, marker, 'quo"te', 'two\nlines'], { stdio: 'ignore' });
  const ev = await waitFor(
    'the failed exec in vigil events',
    () => events<ExecEventV1>(['--kind', 'exec']).find((e) => e.exec.argv[1] === marker),
    30_000,
    250,
  );
  assert.equal(ev.exec.ret, -2, 'ENOENT');
  assert.equal(ev.exec.filename, path);
  assert.deepEqual(ev.exec.argv, [path, marker, 'quo"te', 'two\nlines']);
  assert.equal(ev.exec.argvTruncated, false);
  assert.equal(ev.proc.comm, 'bash');
});

test('a connect to a loopback port appears with address, port and the connecting process', async () => {
  const server: Server = createServer((s) => s.destroy());
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    }),
  );
  try {
    spawnSync('bash', ['-c', `for i in 1 2 3 4 5; do exec 3<>/dev/tcp/127.0.0.1/${port}; exec 3>&-; done`], {
      stdio: 'ignore',
    });
    const evs = await waitFor(
      'connect events',
      () => {
        const mine = events<ConnectEventV1>(['--kind', 'connect', '--comm', 'bash']).filter(
          (e) => e.connect.dport === port,
        );
        return mine.reduce((n, e) => n + e.connect.count, 0) >= 5 ? mine : null;
      },
      30_000,
      500,
    );
    const first = evs.find((e) => e.connect.ret !== null)!;
    assert.equal(first.connect.daddr, '127.0.0.1');
    assert.equal(first.connect.family, 'ipv4');
    assert.equal(first.connect.ret, 0);
    assert.equal(first.proc.comm, 'bash');
    assert.ok(first.proc.ancestry.some((a) => a.pid === process.pid));
    assert.equal(
      evs.reduce((n, e) => n + e.connect.count, 0),
      5,
      'one first-seen record plus the repeats counted in the kernel',
    );
  } finally {
    server.close();
  }
});

test('NVIDIA-shaped ioctls on the test GPU node appear decoded: names, RM classes, control command, XFER', async () => {
  const run = spawnSync(nvIoctl, [gpuNode, '20'], { stdio: 'ignore' });
  let seen: GpuEventV1[] = [];
  const evs = await waitFor(
    'gpu events with their window counts',
    () => {
      seen = events<GpuEventV1>(['--kind', 'gpu', '--pid', String(run.pid)]);
      return seen.reduce((n, e) => n + e.gpu.count, 0) >= 80 ? seen : null;
    },
    30_000,
    500,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}; seen: ${JSON.stringify(seen.map((e) => [e.proc.comm, e.gpu.name, e.gpu.rmClass, e.gpu.count]))}`,
    );
  });
  assert.ok(
    evs.every((e) => e.proc.comm === 'nv-ioctl'),
    'window records resolve the process too',
  );
  const firsts = evs.filter((e) => e.gpu.count === 1 && e.gpu.firstTs === e.gpu.lastTs);
  const described = new Set(
    firsts.map(
      (e) =>
        `${e.gpu.name}${e.gpu.xfer ? '+xfer' : ''} ${e.gpu.rmClassName ?? ''}${e.gpu.rmControl !== null ? `0x${e.gpu.rmControl.toString(16)}` : ''}`,
    ),
  );
  for (const want of [
    'NV_ESC_RM_ALLOC NV01_ROOT_CLIENT',
    'NV_ESC_RM_CONTROL 0x20800110',
    'NV_ESC_RM_ALLOC HOPPER_CHANNEL_GPFIFO_A',
    'NV_ESC_RM_ALLOC+xfer HOPPER_COMPUTE_A',
  ]) {
    assert.ok(described.has(want), `${want} in ${[...described].join(', ')}`);
  }
  const e = firsts[0]!;
  assert.equal(e.gpu.device, gpuNode);
  assert.equal(e.gpu.driver, 'nvidia');
  assert.equal(
    evs.reduce((n, x) => n + x.gpu.count, 0),
    80,
    '4 calls × 20 repeats, every one accounted for',
  );
  assert.ok(e.proc.ancestry.some((a) => a.pid === process.pid));
});

test('a killed probe is restarted within seconds; the blind gap is reported and raises sensor.probe-restart', async () => {
  const mine = () => vigilJson<Status>(api, ['status']).sensors.find((x) => x.host === HOST)!;
  const probe = () => mine().probes.find((p) => p.name === 'exec')!;
  const before = probe();
  const cpuBefore = mine().footprint?.probeCpuSeconds ?? 0;
  // bpftrace's compile alone takes a second or more of CPU.
  assert.ok(cpuBefore > 0.2, `the probes' CPU in the heartbeat (${cpuBefore} s)`);
  assert.ok(before.pid, 'the heartbeat names the bpftrace pid');
  const t0 = Date.now();
  process.kill(before.pid!, 'SIGKILL');
  const after = await waitFor(
    'the exec probe running again',
    () => {
      const p = probe();
      return p.state === 'running' && p.restarts === before.restarts + 1 && p.pid !== before.pid ? p : null;
    },
    60_000,
    250,
  );
  console.log(`# probe restarted and reported running within ${Date.now() - t0} ms (heartbeats every 5 s)`);
  assert.ok(after.lastExitTs && after.lastRestartTs && BigInt(after.lastRestartTs) > BigInt(after.lastExitTs));
  const alert = await waitFor(
    'sensor.probe-restart',
    () =>
      vigilJson<AlertV1[]>(api, ['alerts', '--host', HOST, '--rule', 'sensor.probe-restart']).find((a) =>
        /probe exec/.test(a.reason),
      ),
    20_000,
    500,
  );
  // The probes share one bpftrace process: killing it stops them all, and one alert names them all.
  assert.match(
    alert.reason,
    /probe exec \(with proc, connect, gpu, dns: one bpftrace process\) on .* stopped and was restarted \(1 restarts so far\); blind for \d+\.\d s/,
  );
  // The killed bpftrace's CPU still counts (the sensor reaped it): the total less the new process's own
  // is at least what it was before the kill (the counter does not fall back when a probe restarts).
  const statCpu = (pid: number) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  // From a heartbeat that names the new bpftrace running, its compile done: what it used since is
  // next to nothing (an idle probe), so reading its CPU now takes little more than the heartbeat saw.
  const cpuAfter = mine().footprint?.probeCpuSeconds ?? 0;
  assert.ok(
    cpuAfter - statCpu(after.pid!) >= cpuBefore - 0.1,
    `probes' CPU ${cpuBefore} s before the kill, ${cpuAfter} s after, the new bpftrace's own ${statCpu(after.pid!)} s`,
  );
  const all = vigilJson<Status>(api, ['status']).sensors.find((x) => x.host === HOST)!.probes;
  assert.deepEqual(
    all.map((p) => [p.name, p.state, p.pid]),
    ['exec', 'proc', 'connect', 'gpu', 'dns'].map((n) => [n, 'running', after.pid]),
  );
  const marker = `vigil-after-restart-${randomUUID()}`;
  spawnSync('/bin/echo', [marker], { stdio: 'ignore' });
  await waitFor(
    'execs seen again',
    () => events<ExecEventV1>(['--kind', 'exec', '--comm', 'echo']).some((e) => e.exec.argv[1] === marker),
    20_000,
    300,
  );
});

test('the CLI: human tables, one-line errors, read-only query', () => {
  const table = vigil(api, ['events', '--host', HOST, '--kind', 'exec', '--limit', '5']);
  assert.equal(table.status, 0);
  assert.match(table.stdout.split('\n')[0]!, /^TIME\s+HOST\s+KIND\s+PID\s+COMM\s+PARENT\s+DETAIL$/);
  const refused = vigil(api, ['query', 'DROP TABLE events']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /read-only/);
  const counted = vigilJson<{ rows: { n: string }[] }>(api, [
    'query',
    `SELECT count() AS n FROM events WHERE host = '${HOST}'`,
  ]);
  assert.ok(Number(counted.rows[0]!.n) > 0);
  const unreachable = vigil('http://127.0.0.1:1', ['status']);
  assert.notEqual(unreachable.status, 0);
  assert.match(unreachable.stderr, /cannot reach the Vigil API/);
  const status = vigilJson<Status>(api, ['status']);
  const mine = status.sensors.find((x) => x.host === HOST)!;
  assert.ok(mine.counters.eventsPublished > 0);
  assert.deepEqual(
    Object.keys(mine.counters.rejects).filter((k) => !k.startsWith('publish.')),
    [],
    `no probe record rejected: ${JSON.stringify(mine.counters.rejects)}`,
  );
  // Where the sensor's time goes: every stage an exec passes has seen it.
  for (const stage of ['exec.tick', 'exec.read', 'exec.built', 'proc.built', 'publish.sent', 'publish.acked']) {
    const h = mine.latency?.stages[stage];
    assert.ok(h && h.count > 0, `stage ${stage} observed: ${JSON.stringify(mine.latency)}`);
    assert.equal(
      h.buckets.reduce((a, b) => a + b, 0),
      h.count,
    );
  }
  const text = vigil(api, ['status']);
  assert.match(
    text.stdout,
    new RegExp(`^${HOST} latency since start, p50/p99 ms: .*exec\\.read \\d+(\\.\\d)?/\\d+`, 'm'),
  );
});
