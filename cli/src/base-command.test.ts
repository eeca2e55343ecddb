import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/run.js', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, VIGIL_API_TOKEN: 'x'.repeat(32) },
  });
const oneLine = (s: string) => s.replace(/\n\s*›\s+/g, ' ');

/** Every command that reads the API, with what it needs besides --api. */
const API_COMMANDS = [
  ['status'],
  ['events'],
  ['events', '--follow'],
  ['alerts'],
  ['alerts', '--follow'],
  ['query', 'SELECT 1'],
  ['detections', 'list'],
];
const BAD_API = /^ › {3}Error: --api: "ftp:\/\/x" is not the Vigil API's URL/;

test('every API command tells a bad --api the same way: one error line, exit 1; under --json one JSON object on stdout', () => {
  for (const cmd of API_COMMANDS) {
    const r = run([...cmd, '--api', 'ftp://x']);
    assert.equal(r.status, 1, cmd.join(' '));
    assert.match(oneLine(r.stderr), BAD_API, `${cmd.join(' ')}: ${r.stderr}`);
    const j = run([...cmd, '--api', 'ftp://x', '--json']);
    assert.equal(j.status, 1, `${cmd.join(' ')} --json`);
    assert.equal(j.stderr, '', `${cmd.join(' ')} --json`);
    assert.match((JSON.parse(j.stdout) as { error: string }).error, /^--api: "ftp:\/\/x" is not the Vigil API's URL/);
  }
});

test('an API that cannot be reached is told the same way by every API command', () => {
  for (const cmd of API_COMMANDS) {
    const r = run([...cmd, '--api', '127.0.0.1:1']);
    assert.equal(r.status, 1, cmd.join(' '));
    assert.match(
      oneLine(r.stderr),
      /^ › {3}Error: cannot reach the Vigil API at http:\/\/127\.0\.0\.1:1 /,
      `${cmd.join(' ')}: ${r.stderr}`,
    );
  }
});
