/**
 * End to end, as root, nothing mocked (`vigil up` with the real exec probe): an unprivileged user's
 * execvp walking PATH makes one failed exec per directory that lacks the program; each shows as a
 * failed exec naming its error and the file tried, `--failed` selects them (stored and live), and the
 * exec that worked is not among them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ExecEventV1 } from '@vigil/schema';
import {
  API_TOKEN,
  CLI,
  type startVigil,
  startVigilUp,
  tempDir,
  vigil,
  vigilJson,
  waitFor,
} from '../support/harness.js';

const HOST = `e2e-failed-${process.pid}`;
const dir = tempDir('e2e-failed');
let api = '';
let up: ReturnType<typeof startVigil>;

before(async () => {
  ({ api, up } = await startVigilUp(join(dir, 'data'), HOST, ['--probe', 'exec', '--log-format', 'json']));
});

after(async () => {
  assert.equal(await up?.stop(), 0, up?.logs.join('').slice(-2000));
});

test("nobody's execvp through PATH: each missing directory a failed exec (ENOENT and the file tried), live and stored", async () => {
  const tag = randomUUID();
  const [a, b] = [`/nonexistent-a-${tag}`, `/nonexistent-b-${tag}`];
  const follower = spawn(
    process.execPath,
    [CLI, 'events', '--follow', '--json', '--failed', '--uid', '65534', '--host', HOST],
    { env: { ...process.env, VIGIL_API: api, VIGIL_API_TOKEN: API_TOKEN } },
  );
  const live: ExecEventV1[] = [];
  createInterface({ input: follower.stdout }).on('line', (l) => live.push(JSON.parse(l) as ExecEventV1));
  try {
    await waitFor(
      'the follower connected',
      () =>
        vigilJson<{ controlPlane: { eventStream: { followers: number } } }>(api, ['status']).controlPlane.eventStream
          .followers === 1,
    );
    // env (coreutils) runs `true` with execvp: /a/true and /b/true fail with ENOENT, /usr/bin/true runs.
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/env', `PATH=${a}:${b}:/usr/bin`, 'true'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    await waitFor(
      'both failed lookups followed live',
      () => live.filter((e) => e.exec.filename.includes(tag)).length === 2,
      30_000,
      250,
    );
    assert.deepEqual(
      live.filter((e) => e.exec.filename.includes(tag)).map((e) => [e.exec.filename, e.exec.ret, e.proc.uid]),
      [
        [`${a}/true`, -2, 65534],
        [`${b}/true`, -2, 65534],
      ],
    );
  } finally {
    follower.kill('SIGINT');
  }
  assert.equal((await once(follower, 'exit'))[0], 0);

  const stored = await waitFor(
    'the lookups stored',
    () => {
      const got = vigilJson<ExecEventV1[]>(api, [
        'events',
        '--host',
        HOST,
        '--uid',
        '65534',
        '--failed',
        '--since',
        '5m',
      ]).filter((e) => e.exec.filename.includes(tag));
      return got.length === 2 && got;
    },
    30_000,
    250,
  );
  assert.deepEqual(stored.map((e) => e.exec.filename).sort(), [`${a}/true`, `${b}/true`]);
  const ok = vigilJson<ExecEventV1[]>(api, [
    'events',
    '--host',
    HOST,
    '--uid',
    '65534',
    '--no-failed',
    '--kind',
    'exec',
    '--exe',
    '/usr/bin/true',
    '--since',
    '5m',
  ]);
  assert.ok(
    ok.some((e) => e.exec.ret === 0 && e.exec.argv.join(' ') === 'true'),
    'the exec that worked is not a failed one',
  );
  const table = vigil(api, ['events', '--host', HOST, '--uid', '65534', '--failed', '--since', '5m'])
    .stdout.split('\n')
    .filter((l) => l.includes(tag));
  assert.equal(table.length, 2, table.join('\n'));
  assert.match(table.find((l) => l.includes(a))!, new RegExp(`\\bexec\\b.*ENOENT ${a}/true: true$`));
  assert.match(table.find((l) => l.includes(b))!, new RegExp(`\\bexec\\b.*ENOENT ${b}/true: true$`));
});
