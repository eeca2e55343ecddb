/**
 * Followers of the live alert stream that never read (raw sockets that send their request and stop
 * reading) are cut off once they leave more than their byte budget unread in the control plane,
 * counted in the status, while a follower that reads gets every alert.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { nowNs, type AlertV1, type StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, tempDir, waitFor } from '../support/harness.js';

const dir = tempDir('sse');
const log = pino({ level: 'silent' });
const TOKEN = randomBytes(32).toString('hex');
const IDLE = 20;
const ALERTS = 80;
// 80 alerts of 256 KiB: 20 MiB for each follower, far beyond what the kernel's socket buffers take.
const REASON = 'x'.repeat(256 * 1024);
let nats: LocalNats;
let cp: RunningControlPlane;
let port = 0;

const status = async () =>
  (
    (await (
      await fetch(`${cp.apiUrl}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as StatusReport
  ).controlPlane.alertStream!;

before(async () => {
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  port = await freePort();
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port, token: TOKEN },
    log,
  });
});

after(async () => {
  await cp?.stop();
  await nats?.stop();
});

const raise = (i: number) =>
  cp.engine.raise(
    {
      detection: { id: 'test.sse', title: 'sse', severity: 'low', mitre: [], on: ['exec'], match: () => null },
      source: 'typescript',
      author: null,
    },
    'sse-host',
    null,
    nowNs(),
    [],
    { reason: `${i} ${REASON}`, subject: `sse-${i}` },
  );

test('followers that never read are cut off at their byte budget, counted; one that reads gets every alert', async () => {
  const idle: Socket[] = [];
  for (let i = 0; i < IDLE; i++) {
    const s = tcpConnect(port, '127.0.0.1');
    await once(s, 'connect');
    s.write(`GET /api/v1/alerts/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    s.on('error', () => {
      /* cut off by the server */
    });
    s.pause();
    idle.push(s);
  }
  const got: AlertV1[] = [];
  const reading = new AbortController();
  const res = await fetch(`${cp.apiUrl}/api/v1/alerts/stream`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: reading.signal,
  });
  const reader = (async () => {
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith('data: ')) got.push(JSON.parse(block.slice(6)) as AlertV1);
        }
      }
    } catch {
      /* aborted at the end */
    }
  })();
  try {
    await waitFor('every follower connected', async () => (await status()).followers === IDLE + 1);
    for (let i = 0; i < ALERTS; i++) {
      raise(i);
      // The reader keeps up: only the idle followers fall behind.
      await waitFor(`alert ${i} read`, () => got.length === i + 1);
    }
    const s = await status();
    assert.equal(s.slowDisconnects, IDLE, 'every idle follower cut off');
    assert.equal(s.dropped, IDLE, 'the alert each could not take is counted');
    assert.equal(s.followers, 1, 'the reader stays');
    assert.ok(
      s.maxBufferedBytes <= s.budgetBytes,
      `at most the budget held for one follower: ${s.maxBufferedBytes} > ${s.budgetBytes}`,
    );
    assert.equal(s.budgetBytes, 1024 * 1024);
    assert.deepEqual(
      got.map((a) => Number(a.reason.split(' ')[0])),
      [...Array(ALERTS).keys()],
      'the reader got every alert, in order',
    );
  } finally {
    reading.abort();
    await reader;
    for (const s of idle) s.destroy();
  }
});
