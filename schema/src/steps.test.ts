/**
 * Startup told to stop half-way: what started stops again, in reverse, and nothing after it starts;
 * a step that does not end when told is left behind and stopped once it does end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runSteps, StepsAbortedError, type Step } from './steps.js';

const quiet = { info: () => undefined, error: () => undefined };

test('an abort while a step waits stops what started, in reverse, and starts nothing more', async () => {
  const seen: string[] = [];
  const abort = new AbortController();
  const steps: Step[] = [
    {
      name: 'a',
      start: async () => {
        seen.push('start a');
        return () => {
          seen.push('stop a');
        };
      },
    },
    {
      name: 'b',
      start: async () => {
        seen.push('start b');
        return () => {
          seen.push('stop b');
        };
      },
    },
    {
      name: 'waits',
      start: (signal) =>
        new Promise((_resolve, reject) => {
          seen.push('start waits');
          signal.addEventListener('abort', () => reject(new Error('gave up')), { once: true });
          abort.abort();
        }),
    },
    {
      name: 'never',
      start: async () => {
        seen.push('start never');
      },
    },
  ];
  await assert.rejects(
    runSteps(steps, quiet, { signal: abort.signal }),
    (err: Error) => err instanceof StepsAbortedError && /at waits/.test(err.message),
  );
  assert.deepEqual(seen, ['start a', 'start b', 'start waits', 'stop b', 'stop a']);
});

test('a step that ignores the abort is left behind after the stop timeout, and stopped when it ends', async () => {
  const seen: string[] = [];
  const abort = new AbortController();
  let finish: () => void = () => undefined;
  const steps: Step[] = [
    {
      name: 'a',
      start: async () => () => {
        seen.push('stop a');
      },
    },
    {
      name: 'deaf',
      start: () =>
        new Promise((resolve) => {
          finish = () =>
            resolve(() => {
              seen.push('stop deaf');
            });
          abort.abort();
        }),
    },
  ];
  await assert.rejects(runSteps(steps, quiet, { signal: abort.signal, stopTimeoutMs: 50 }), StepsAbortedError);
  assert.deepEqual(seen, ['stop a']);
  finish();
  await sleep(10);
  assert.deepEqual(seen, ['stop a', 'stop deaf']);
});

test('without an abort every step starts and the teardown stops them in reverse', async () => {
  const seen: string[] = [];
  const stop = await runSteps(
    [
      {
        name: 'a',
        start: async () => () => {
          seen.push('stop a');
        },
      },
      {
        name: 'b',
        start: async () => () => {
          seen.push('stop b');
        },
      },
    ],
    quiet,
  );
  await stop();
  assert.deepEqual(seen, ['stop b', 'stop a']);
});
