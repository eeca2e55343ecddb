/**
 * `vigil events` as a Falco or Tetragon user expects it, against a real control plane (embedded chDB)
 * fed through a real nats-server: `--follow --json` (one object per line, filtered on the control
 * plane), the filters on stored events, failed execs (each lookup of an execvp its own row), errors
 * under --json as JSON, `vigil version`, and shell completion.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { NatsConnection } from 'nats';
import type { RunningControlPlane } from '@vigil/control-plane';
import { eventSubject, type EventV1 } from '@vigil/schema';
import { execEvent, startIngestStack } from '../support/ingest-stack.js';
import { API_TOKEN, authHeaders, CLI, freePort, tempDir, vigil, vigilAsync, waitFor } from '../support/harness.js';

const HOST = 'follow-host';
let nc: NatsConnection;
let cp: RunningControlPlane;
let stack: Awaited<ReturnType<typeof startIngestStack>>;

before(async () => {
  stack = await startIngestStack('events-follow', {
    api: { host: '127.0.0.1', port: await freePort(), token: API_TOKEN },
  });
  ({ nc, cp } = stack);
});

after(async () => {
  await stack?.stop();
});

/** One execvp("python3") as uid 1000 in a Slurm job's container, walking PATH: two ENOENTs, then the exec. */
const lookup = (pid: number, filename: string, ret: number): EventV1 => {
  const ev = execEvent(HOST, pid, ['python3', 'train.py']);
  return ev.kind === 'exec'
    ? {
        ...ev,
        proc: {
          ...ev.proc,
          uid: 1000,
          comm: 'bash',
          exe: '/usr/bin/bash',
          job: 'slurm:4242',
          containerId: 'c0ffee00c0ffee00c0ffee00',
        },
        exec: { ...ev.exec, filename, ret },
      }
    : ev;
};
const PATH_WALK = [
  lookup(500, '/usr/local/sbin/python3', -2),
  lookup(500, '/usr/local/bin/python3', -2),
  lookup(500, '/usr/bin/python3', 0),
];
const OTHERS = [
  {
    ...execEvent(HOST, 501, ['/tmp/x/miner']),
    exec: { filename: '/tmp/x/miner', argv: ['/tmp/x/miner'], argvTruncated: false, ret: -13 },
  } as EventV1,
  execEvent(HOST, 502, ['/usr/bin/id']),
];

const publish = async (events: EventV1[]) => {
  const js = nc.jetstream();
  for (const ev of events) await js.publish(eventSubject(ev.host, ev.kind), JSON.stringify(ev));
};

const eventStream = async () =>
  (
    (await (await fetch(`${cp.apiUrl}/api/v1/status`, { headers: authHeaders })).json()) as {
      controlPlane: { eventStream: { followers: number } };
    }
  ).controlPlane.eventStream;

/** `vigil events --follow …` as a child; each stdout line as it comes. */
function follow(args: string[]): {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [CLI, 'events', '--follow', ...args], {
    env: { ...process.env, VIGIL_API: cp.apiUrl, VIGIL_API_TOKEN: API_TOKEN },
  });
  const lines: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, exited, stderr: () => stderr };
}

test('vigil events --follow --json: one object per line as events arrive, filtered on the control plane', async () => {
  const failedOfUid = follow(['--json', '--failed', '--uid', '1000']);
  const all = follow(['--json', '--host', HOST]);
  const human = follow(['--failed']);
  try {
    await waitFor('three followers connected', async () => (await eventStream()).followers === 3);
    await publish([...PATH_WALK, ...OTHERS]);
    await waitFor('every event followed', () => all.lines.length === 5);
    await waitFor('the failed lookups followed', () => failedOfUid.lines.length === 2 && human.lines.length === 3);
    const got = failedOfUid.lines.map((l) => JSON.parse(l) as EventV1);
    assert.deepEqual(
      got.map((e) => e.id),
      PATH_WALK.slice(0, 2).map((e) => e.id),
      'the ENOENTs of uid 1000 only, in order',
    );
    assert.deepEqual(
      all.lines.map((l) => (JSON.parse(l) as EventV1).id),
      [...PATH_WALK, ...OTHERS].map((e) => e.id),
    );
    assert.match(human.lines[0]!, /\bexec\b.*ENOENT \/usr\/local\/sbin\/python3: python3 train\.py$/);
    assert.match(human.lines[1]!, /\bexec\b.*ENOENT \/usr\/local\/bin\/python3: python3 train\.py$/);
    assert.match(human.lines[2]!, /\bexec\b.*EACCES \/tmp\/x\/miner: \/tmp\/x\/miner$/);
  } finally {
    for (const f of [failedOfUid, all, human]) f.child.kill('SIGINT');
  }
  for (const f of [failedOfUid, all, human])
    assert.equal(await f.exited, 0, `Ctrl-C ends a follower cleanly: ${f.stderr()}`);
  await waitFor('followers gone', async () => (await eventStream()).followers === 0);
});

test('vigil events filters stored events: --failed/--no-failed, --job, --container, --uid, --exe, --until', async () => {
  const ids = async (args: string[]) => {
    const r = await vigilAsync(cp.apiUrl, ['events', '--host', HOST, '--json', ...args]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return (JSON.parse(r.stdout) as EventV1[]).map((e) => e.id).sort();
  };
  const sorted = (events: EventV1[]) => events.map((e) => e.id).sort();
  await waitFor('all stored', async () => (await ids([])).length === 5);
  assert.deepEqual(await ids(['--failed']), sorted([PATH_WALK[0]!, PATH_WALK[1]!, OTHERS[0]!]));
  assert.deepEqual(await ids(['--no-failed']), sorted([PATH_WALK[2]!, OTHERS[1]!]));
  assert.deepEqual(await ids(['--job', 'slurm:4242']), sorted(PATH_WALK));
  assert.deepEqual(await ids(['--container', 'c0ffee00c0ff']), sorted(PATH_WALK));
  assert.deepEqual(await ids(['--uid', '1000', '--no-failed']), sorted([PATH_WALK[2]!]));
  assert.deepEqual(await ids(['--exe', '/usr/local/bin/python3']), sorted([PATH_WALK[1]!]));
  assert.deepEqual(await ids(['--until', '1h']), [], 'nothing is older than an hour');
  assert.deepEqual(
    await ids(['--until', new Date(Date.now() + 60_000).toISOString()]),
    sorted([...PATH_WALK, ...OTHERS]),
  );
  const table = await vigilAsync(cp.apiUrl, ['events', '--host', HOST, '--failed']);
  const rows = table.stdout.trim().split('\n').slice(1);
  assert.equal(rows.length, 3);
  assert.equal(
    new Set(rows.map((r) => r.replace(/^\S+ \S+/, ''))).size,
    3,
    `each failed lookup a row of its own:\n${table.stdout}`,
  );
});

test('errors under --json are one {"error"} line on stdout, with the exit code', async () => {
  const down = `http://127.0.0.1:${await freePort()}`;
  for (const [args, code] of [
    [['events', '--json', '--api', down], 1],
    [['events', '--json', '--follow', '--api', down], 1],
    [['events', '--json', '--kind', 'nope'], 2],
    [['version', '--json', '--uid', 'x'], 2],
  ] as const) {
    const r = vigil(cp.apiUrl, [...args]);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const body = JSON.parse(lines[0]!) as { error: unknown };
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(typeof body.error, 'string');
  }
});

test('vigil version names the CLI, Node.js and the control plane it reaches; completion prints its setup', async () => {
  const v = JSON.parse((await vigilAsync(cp.apiUrl, ['version', '--json'])).stdout) as {
    cli: string;
    node: string;
    controlPlane: { version: string; api: string } | null;
  };
  assert.equal(v.cli, '0.1.0');
  assert.equal(v.node, process.version);
  assert.deepEqual(v.controlPlane, { version: '0.1.0', api: cp.apiUrl });
  const away = vigil(`http://127.0.0.1:${await freePort()}`, ['version']);
  assert.equal(away.status, 0, 'no control plane is not an error for version');
  assert.match(away.stdout, /vigil CLI 0\.1\.0, Node\.js v\d+.*\ncontrol plane: unknown \(cannot reach/);
  const ac = vigil(cp.apiUrl, ['autocomplete', 'bash'], { XDG_CACHE_HOME: tempDir('ac-cache') });
  assert.equal(ac.status, 0, ac.stderr);
  assert.match(ac.stdout, /vigil autocomplete script bash/);
});

test('the event stream wants the token and refuses a bad filter before streaming', async () => {
  const anonymous = await fetch(`${cp.apiUrl}/api/v1/events/stream`);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const bad = await fetch(`${cp.apiUrl}/api/v1/events/stream?uid=-1&failed=maybe`, { headers: authHeaders });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /uid: .*failed: /);
  assert.equal((await eventStream()).followers, 0);
});
