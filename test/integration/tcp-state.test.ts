/**
 * TCP listeners and connection lifetimes on the live kernel: a socat relay listens, accepts a client
 * and connects on to a backend; the sensor shows the listen and the accepted connection as socat's,
 * the outbound connection as its forked child's, and the closes with how long each was held. A
 * connect storm comes out as a few events whose counts add up to every connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type RunningSensor } from '@vigil/sensor';
import type { ConnEventV1, EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

/** Runs a command without blocking this process's event loop (the backend answers from it). */
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function withSensor(name: string, work: (s: RunningSensor) => Promise<void>): Promise<ConnEventV1[]> {
  const spoolDir = join(tempDir(name), 'spool');
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    // The default probes: the tcp probe is one of them.
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  try {
    await waitFor(
      'probes running',
      () => sensor.heartbeat().probes.every((p) => p.state === 'running' || p.state === 'skipped'),
      90_000,
    );
    await work(sensor);
    await sleep(4 * FLUSH_MS);
  } finally {
    await sensor.stop();
  }
  return readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    )
    .filter((e): e is ConnEventV1 => e.kind === 'conn');
}

const show = (events: ConnEventV1[]) =>
  events
    .map(
      (e) =>
        `${e.proc.pid}/${e.proc.comm} ${e.conn.event} ${e.conn.direction} ${e.conn.local.addr}:${e.conn.local.port} ${e.conn.remote.addr}:${e.conn.remote.port} ×${e.conn.count}`,
    )
    .join('\n');

test('a socat relay: its listen and accepted connection, its child connecting on, and the closes with durations', {
  timeout: 180_000,
}, async () => {
  const front = await freePort();
  const back = await freePort();
  const backend = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  await new Promise<void>((resolve) => backend.listen(back, '127.0.0.1', () => resolve()));
  let socatPid = 0;
  let clientPort = 0;
  const events = await withSensor('tcp-socat', async () => {
    const socat = spawn('socat', [`TCP-LISTEN:${front},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${back}`], {
      stdio: 'ignore',
    });
    socatPid = socat.pid!;
    try {
      // The client holds its connection through the relay for 300 ms after the echo came back.
      const py = `import socket, sys, time\nfor _ in range(100):\n  try: c = socket.create_connection(("127.0.0.1", ${front})); break\n  except OSError: time.sleep(0.05)\nprint(c.getsockname()[1], flush=True); c.sendall(b"ping"); assert c.recv(4) == b"ping"; time.sleep(0.3); c.close()`;
      const r = await run('python3', ['-c', py]);
      assert.equal(r.status, 0, r.stderr);
      clientPort = Number(r.stdout.trim());
      await sleep(300);
    } finally {
      socat.kill('SIGTERM');
      await new Promise((resolve) => socat.once('close', resolve));
      backend.close();
    }
  });
  const detail = `\n${show(events)}`;
  const listen = events.find((e) => e.conn.event === 'listen' && e.conn.local.port === front);
  assert.ok(listen, `socat's listen ${detail}`);
  assert.equal(listen.proc.pid, socatPid);
  assert.equal(listen.proc.comm, 'socat');
  assert.deepEqual(listen.conn.local, { addr: '127.0.0.1', port: front });
  assert.equal(listen.conn.direction, null);

  const accepted = events.find(
    (e) => e.conn.event === 'established' && e.conn.direction === 'in' && e.conn.local.port === front,
  );
  assert.ok(accepted, `the connection socat accepted ${detail}`);
  assert.equal(accepted.proc.pid, socatPid, 'charged to the listening socat');
  assert.deepEqual(accepted.conn.remote, { addr: '127.0.0.1', port: clientPort }, "the peer is the client's socket");

  const onward = events.find(
    (e) => e.conn.event === 'established' && e.conn.direction === 'out' && e.conn.remote.port === back,
  );
  assert.ok(onward, `the connection socat made to the backend ${detail}`);
  assert.equal(onward.proc.comm, 'socat');
  assert.equal(onward.proc.ppid, socatPid, "made by socat's child for this client");
  assert.deepEqual(onward.conn.remote, { addr: '127.0.0.1', port: back });

  const closedIn = events.find(
    (e) => e.conn.event === 'close' && e.conn.direction === 'in' && e.conn.local.port === front,
  );
  assert.ok(closedIn, `the accepted connection's close ${detail}`);
  assert.equal(closedIn.proc.pid, socatPid, 'charged to the process that accepted it');
  assert.ok(
    closedIn.conn.durationMs !== null && closedIn.conn.durationMs >= 300,
    `held 300 ms: ${closedIn.conn.durationMs}`,
  );
  const closedOut = events.find(
    (e) => e.conn.event === 'close' && e.conn.direction === 'out' && e.conn.remote.port === back,
  );
  assert.ok(closedOut, `the onward connection's close ${detail}`);
  assert.equal(closedOut.proc.pid, onward.proc.pid);
  assert.ok(closedOut.conn.durationMs !== null && closedOut.conn.durationMs >= 300, `${closedOut.conn.durationMs}`);
  assert.equal(closedOut.conn.totalDurationMs, closedOut.conn.durationMs);
});

test('a connect storm: 1000 connections come out as a few events whose counts add up', {
  timeout: 180_000,
}, async () => {
  const n = 1000;
  let pid = 0;
  let port = 0;
  const events = await withSensor('tcp-storm', async () => {
    // One process listens, connects to itself n times, accepts and closes both ends each time.
    const py = `import os, socket\ns = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(128); port = s.getsockname()[1]\nprint(os.getpid(), port, flush=True)\nfor _ in range(${n}):\n  c = socket.create_connection(("127.0.0.1", port)); a, _ = s.accept(); c.close(); a.close()`;
    const r = await run('python3', ['-c', py]);
    assert.equal(r.status, 0, r.stderr);
    [pid, port] = r.stdout.trim().split(' ').map(Number) as [number, number];
  });
  const mine = events.filter((e) => e.proc.pid === pid);
  const total = (event: string, direction: string) =>
    mine
      .filter((e) => e.conn.event === event && e.conn.direction === direction)
      .reduce((sum, e) => sum + e.conn.count, 0);
  const detail = `\n${show(mine)}`;
  assert.equal(total('established', 'out'), n, `every connection out is counted ${detail}`);
  assert.equal(total('established', 'in'), n, `every accepted one ${detail}`);
  assert.equal(total('close', 'out'), n, `every close of an outbound one ${detail}`);
  assert.equal(total('close', 'in'), n, `every close of an accepted one ${detail}`);
  assert.ok(mine.length <= 40, `${mine.length} events for ${n} connections ${detail}`);
  for (const e of mine) {
    if (e.conn.event === 'listen') continue;
    assert.equal(e.conn.direction === 'out' ? e.conn.remote.port : e.conn.local.port, port);
  }
  const closes = mine.filter((e) => e.conn.event === 'close' && e.conn.count > 1);
  assert.ok(closes.length > 0, 'repeats were folded');
  for (const e of closes) {
    assert.ok(e.conn.durationMs !== null && e.conn.totalDurationMs !== null, 'a folded close keeps its durations');
    assert.ok(e.conn.totalDurationMs >= e.conn.durationMs);
  }
});
