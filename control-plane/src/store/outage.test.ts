/** A retry loop's log: a line when it goes down, one now and then while down, one when it is back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { backoffMs, OutageLog, pause, RETRY_CAP_MS, RETRY_FIRST_MS } from './outage.js';

const capture = () => {
  const lines: { msg: string; 'retry.attempts'?: number }[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()));
        cb();
      },
    }),
  );
  return { log, lines };
};
const msgs = { down: 'down', still: 'still down', up: 'back' };

test('a thousand failures in a row say three lines over three minutes, then one when it comes back, with the count', async () => {
  const { log, lines } = capture();
  const o = new OutageLog(log, msgs, {}, 60_000);
  const t0 = 1_000_000;
  for (let i = 0; i < 1000; i++) o.failed(new Error('refused'), t0 + i * 180);
  o.succeeded(t0 + 180_000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['down', 'still down', 'still down', 'back'],
  );
  assert.equal(lines.at(-1)?.['retry.attempts'], 1000);
  o.succeeded(t0 + 200_000);
  assert.equal(lines.length, 4, 'nothing while it works');
});

test('the wait doubles from the first and stops at the cap', () => {
  assert.equal(backoffMs(1), RETRY_FIRST_MS);
  assert.equal(backoffMs(2), RETRY_FIRST_MS * 2);
  assert.equal(backoffMs(1e6), RETRY_CAP_MS);
});

test('a pause ends at once when its signal aborts', async () => {
  const abort = new AbortController();
  const p = pause(60_000, abort.signal);
  abort.abort();
  assert.equal(await p, false);
  assert.equal(await pause(1), true);
});
