/**
 * Every stop is clean: `vigil up` stopped with a `vigil alerts --follow` attached exits (its streaming
 * clients are told and let go), and the follower exits non-zero saying the stream closed; `vigil
 * control-plane` against a ClickHouse server that is not there stops on SIGTERM, and says so in a few
 * JSON lines rather than hundreds of the client library's own; against one that takes connections
 * and never answers, SIGTERM during startup stops it too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { connect } from 'nats';
import { startLocalNats } from '@vigil/cli/nats-server';
import { heartbeatSubject, nowNs, type HeartbeatV1, type StatusReport } from '@vigil/schema';
import { CLI, API_TOKEN, freePort, startVigil, tempDir, vigil, waitFor } from '../support/harness.js';

const dir = tempDir('stop');
/** A liveness bound, not a speed one: a process that stops at all stops well within it. */
const EXIT_BOUND_MS = 15_000;

const exited = (child: ReturnType<typeof spawn>, ms: number): Promise<number | null | 'alive'> => {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('alive'), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
};
const isGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

test('Ctrl-C on vigil up with a follower attached: vigil up exits, the follower exits non-zero saying the alert stream closed', async () => {
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const up = startVigil([
    'up',
    '--data-dir',
    join(dir, 'up'),
    '--api-port',
    String(apiPort),
    '--nats-port',
    String(await freePort()),
    '--host-id',
    `stop-${process.pid}`,
    '--probe',
    'exec',
  ]);
  try {
    await waitFor('vigil up', () => up.logs.join('').includes('vigil is up'), 90_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}\n--- vigil up ---\n${up.logs.join('').slice(-3000)}`);
    });

    const follower = spawn(process.execPath, [CLI, 'alerts', '--follow'], {
      env: { ...process.env, VIGIL_API: api, VIGIL_API_TOKEN: API_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    follower.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor(
      'the follower attached',
      () => {
        const r = vigil(api, ['status', '--json']);
        return r.status === 0 && (JSON.parse(r.stdout) as StatusReport).controlPlane.alertStream?.followers === 1;
      },
      30_000,
      300,
    );

    up.child.kill('SIGINT');
    const upCode = await exited(up.child, EXIT_BOUND_MS + 20_000);
    assert.notEqual(upCode, 'alive', `vigil up is still running after SIGINT\n${up.logs.join('').slice(-3000)}`);
    assert.equal(upCode, 0, up.logs.join('').slice(-3000));
    assert.ok(isGone(up.child.pid!), 'the vigil up process is gone');

    const followerCode = await exited(follower, EXIT_BOUND_MS);
    if (followerCode === 'alive') follower.kill('SIGKILL');
    assert.notEqual(followerCode, 'alive', 'the follower is still waiting on a stream that stopped');
    assert.notEqual(followerCode, 0, 'the follower exits non-zero');
    assert.match(stderr, /the alert stream closed/);
  } finally {
    if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGKILL');
  }
});

test('vigil control-plane with its ClickHouse server unreachable: SIGTERM stops it, and it logs a few JSON lines, with a sensor silent and its alert waiting for storage', async () => {
  const chPort = await freePort(); // nothing listens there
  const nats = await startLocalNats({
    dataDir: join(dir, 'nats'),
    port: await freePort(),
    log: pino({ level: 'silent' }),
  });
  const cp = spawn(
    process.execPath,
    [
      CLI,
      'control-plane',
      '--clickhouse',
      `http://127.0.0.1:${chPort}`,
      '--nats',
      nats.url,
      '--api-port',
      String(await freePort()),
      '--api-token-file',
      join(dir, 'cp-token'),
      '--silent-after',
      '1',
    ],
    { env: { ...process.env, VIGIL_API_TOKEN: API_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  cp.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  cp.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await waitFor(
      'the control plane to start without its storage',
      () => out.includes('unreachable') && out.includes('API listening'),
      60_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out.slice(-3000)}`);
    });
    // A sensor that beats once and goes quiet: its sensor.silent alert waits for storage too.
    const host = `silent-${process.pid}`;
    const hb: HeartbeatV1 = {
      v: 1,
      host,
      ts: nowNs(),
      sensorVersion: 'test',
      startedTs: nowNs(),
      counters: {
        recordsRead: 0,
        eventsPublished: 0,
        eventsDropped: 0,
        lostEvents: 0,
        rejects: {},
        queueDepth: 0,
        processCacheSize: 0,
      },
      probes: [],
    };
    const nc = await connect({ servers: nats.url });
    nc.publish(heartbeatSubject(host), JSON.stringify(hb));
    await nc.drain();
    const startedLines = out.split('\n').length;
    await sleep(5000);
    const runningLines = out
      .split('\n')
      .slice(startedLines - 1)
      .filter((l) => l.trim() !== '');
    cp.kill('SIGTERM');
    const code = await exited(cp, EXIT_BOUND_MS);
    assert.notEqual(code, 'alive', `SIGTERM did not stop the control plane\n${out.slice(-3000)}`);
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `a log line that is not JSON: ${l}`);
    // Startup and stop say a fixed few lines; while it runs, an outage is a line when it starts and one
    // now and then, not one (or a dump) per try.
    assert.ok(
      runningLines.length < 10,
      `${runningLines.length} log lines in about 5 s of running:\n${runningLines.slice(0, 40).join('\n')}`,
    );
    assert.ok(lines.length < 40, `${lines.length} log lines in all:\n${lines.slice(0, 60).join('\n')}`);
  } finally {
    if (cp.exitCode === null && cp.signalCode === null) cp.kill('SIGKILL');
    await nats.stop();
  }
});

test('vigil control-plane against a ClickHouse server that never answers: SIGTERM while it starts stops it', async () => {
  // A peer that accepts and says nothing, as a hung server or a wedged proxy does.
  const held: Socket[] = [];
  const hung = createServer((sock) => {
    held.push(sock);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const chPort = (hung.address() as { port: number }).port;
  const nats = await startLocalNats({
    dataDir: join(dir, 'nats-hung'),
    port: await freePort(),
    log: pino({ level: 'silent' }),
  });
  const cp = spawn(
    process.execPath,
    [
      CLI,
      'control-plane',
      '--clickhouse',
      `http://127.0.0.1:${chPort}`,
      '--nats',
      nats.url,
      '--api-port',
      String(await freePort()),
      '--api-token-file',
      join(dir, 'cp-token'),
    ],
    { env: { ...process.env, VIGIL_API_TOKEN: API_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  cp.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  cp.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await waitFor('the control plane to wait on its storage', () => held.length > 0, 60_000, 100).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${out.slice(-3000)}`);
      },
    );
    cp.kill('SIGTERM');
    const code = await exited(cp, EXIT_BOUND_MS);
    assert.notEqual(code, 'alive', `SIGTERM during startup did not stop the control plane\n${out.slice(-3000)}`);
    assert.equal(code, 0, out.slice(-3000));
    for (const l of out.split('\n').filter((x) => x.trim() !== ''))
      assert.doesNotThrow(() => JSON.parse(l), `a log line that is not JSON: ${l}`);
  } finally {
    if (cp.exitCode === null && cp.signalCode === null) cp.kill('SIGKILL');
    for (const s of held) s.destroy();
    hung.close();
    await nats.stop();
  }
});
