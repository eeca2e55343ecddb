/**
 * Response, end to end under a real `vigil up` (real bpftrace, NATS, chDB, sensor in its own process):
 * a kill policy stops a renamed miner on its alert; `vigil respond kill` kills a shell chain as a
 * tree, and a dry run kills nothing; the sensor refuses a wrong start time (a reused pid), pid 1, and
 * an order signed with another key; every order lands in the `responses` audit table.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import {
  responseOrderSubject,
  responseResultSubject,
  responseSigningBytes,
  type QueryResult,
  type ResponseOrderV1,
  type ResponseRecordV1,
  type ResponseResultV1,
  type StatusReport,
} from '@vigil/schema';
import { NatsAuthority } from '@vigil/control-plane/enroll';
import { startVigilUp, tempDir, vigil, vigilJson, waitFor, type VigilUp } from '../support/harness.js';

const HOST = `resp-${process.pid}`;
const dir = tempDir('resp');
const data = join(dir, 'data');
let up: VigilUp['up'];
let api = '';
let nc: NatsConnection;
const started: ChildProcess[] = [];

/** The start time /proc gives a live process, as the sensor computes it for processes it seeded. */
function procStartTs(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const ticks = BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!);
  const btime = BigInt(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))![1]!);
  return btime * 1_000_000_000n + ticks * 10_000_000n;
}

const alive = (pid: number): boolean => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]![0];
    return state !== 'Z';
  } catch {
    return false;
  }
};

function run(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  started.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<{ signal: NodeJS.Signals | null; at: number }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ signal: child.signalCode, at: Date.now() });
    else child.once('exit', (_code, signal) => resolve({ signal, at: Date.now() }));
  });

/** Waits until the control plane has stored an event of `pid` (the manual order reads its start time there). */
const stored = (pid: number) =>
  waitFor(
    `an event of pid ${pid} stored`,
    () =>
      Number(
        vigilJson<QueryResult>(api, [
          'query',
          `SELECT count() AS n FROM events WHERE host = '${HOST}' AND pid = ${pid} AND kind = 'exec'`,
        ]).rows[0]?.n,
      ) > 0,
    20_000,
    300,
  );

const respond = (args: string[]) => {
  const r = vigil(api, ['respond', 'kill', '--host', HOST, ...args, '--json']);
  return { status: r.status, record: JSON.parse(r.stdout) as ResponseRecordV1 & { error?: string } };
};

const audit = (orderId: string) =>
  vigilJson<QueryResult>(api, [
    'query',
    `SELECT requested_by, outcome, pid, dry_run FROM responses WHERE order_id = '${orderId}' ORDER BY version DESC LIMIT 1`,
  ]).rows[0];

before(async () => {
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    [
      'responses:',
      '  mode: enforce',
      '  policies:',
      '    - name: miners',
      "      rules: ['miner.*']",
      '      action: kill',
    ].join('\n'),
  );
  ({ api, up } = await startVigilUp(data, HOST, ['--probe', 'exec', '--probe', 'proc'], { VIGIL_CONFIG: config }));
  // With full rights, as the control plane (a user the operator keys in secrets/ sign, root only): allowed
  // to publish orders, as an intruder on it would be.
  const natsUrl = await waitFor(
    'vigil up says its NATS URL',
    () => /NATS (nats:\/\/[\d.]+:\d+)/.exec(up.logs.join(''))?.[1],
    10_000,
    100,
  );
  const { options } = await new NatsAuthority(join(data, 'secrets')).controlPlaneCreds();
  nc = await connect({ servers: natsUrl, ...options });
});

after(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await nc?.close();
  assert.equal(await up?.stop(), 0);
});

test('a kill policy on miner.* kills a renamed miner on its alert, and the audit says who and why', async () => {
  // A copy of python that sleeps, renamed, with a miner's arguments (sleep itself would refuse them and exit).
  const fake = join(dir, 'kworkerd');
  copyFileSync('/usr/bin/python3', fake);
  const miner = run(fake, [
    '-c',
    'import time; time.sleep(300)',
    'stratum+tcp://pool.supportxmr.com:3333',
    '-u',
    '44AFFq5kSiGBoZ',
    '--donate-level=1',
  ]);
  await new Promise((r) => miner.once('spawn', r));
  const execAt = Date.now();
  const end = await Promise.race([exited(miner), new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
  if (!end) {
    const status = vigilJson<StatusReport>(api, ['status']).controlPlane;
    const raised = vigil(api, ['alerts', '--host', HOST, '--since', '10m', '--json']).stdout.slice(0, 3000);
    assert.fail(
      `the miner still runs 30 s after its exec; responses ${JSON.stringify(status.responses)}; alerts ${raised}`,
    );
  }
  assert.equal(end.signal, 'SIGKILL');
  console.log(`# renamed miner killed by policy ${end.at - execAt} ms after its exec`);
  const row = await waitFor(
    'the audit row',
    () =>
      vigilJson<QueryResult>(api, [
        'query',
        `SELECT requested_by, outcome, alert_id FROM responses WHERE host = '${HOST}' AND pid = ${miner.pid} AND version = 1`,
      ]).rows[0],
    20_000,
    300,
  );
  assert.equal(row.requested_by, 'policy:miners');
  assert.equal(row.outcome, 'killed');
  assert.notEqual(row.alert_id, '');
});

test('respond kill --tree kills a reverse-shell chain (bash -> sh -> sleep), all of it', async () => {
  const shell = run('bash', ['-c', 'sh -c "sleep 300; true" & wait']);
  await new Promise((r) => shell.once('spawn', r));
  await stored(shell.pid!);
  const { status, record } = respond(['--pid', String(shell.pid), '--tree', '--reason', 'reverse shell']);
  assert.equal(status, 0, JSON.stringify(record));
  assert.equal(record.result?.outcome, 'killed');
  assert.equal(record.result.pids[0], shell.pid);
  assert.equal(record.result.pids.length, 3, 'bash, sh and sleep');
  assert.equal((await exited(shell)).signal, 'SIGKILL');
  await waitFor('the chain gone', () => record.result!.pids.every((p) => !alive(p)), 5_000, 100);
  assert.equal(audit(record.order.id)?.outcome, 'killed');
});

/** The pid of the process whose argv is exactly `argv`, once it runs. */
const pidRunning = (argv: string[]) =>
  waitFor(
    `${argv.join(' ')} running`,
    () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .find((d) => {
          try {
            return readFileSync(`/proc/${d}/cmdline`, 'latin1') === `${argv.join('\0')}\0`;
          } catch {
            return false;
          }
        }),
    10_000,
    50,
  ).then(Number);

test('respond kill --tree also kills what double-forked out of the tree (re-parented, no longer a descendant)', async () => {
  // A unique argument tells this test's escaped sleep from any other.
  const tag = `${300 + (process.pid % 1000) / 1000}`;
  const shell = run('bash', ['-c', `(setsid sleep ${tag} &); sleep 300`]);
  await new Promise((r) => shell.once('spawn', r));
  const escaped = await pidRunning(['sleep', tag]);
  try {
    await stored(shell.pid!);
    await stored(escaped);
    const { status, record } = respond(['--pid', String(shell.pid), '--tree', '--reason', 'escaped miner']);
    assert.equal(status, 0, JSON.stringify(record));
    assert.equal(record.result?.outcome, 'killed', record.result?.reason);
    assert.ok(record.result.pids.includes(escaped), `the escaped process is in the tree: ${record.result.pids}`);
    await waitFor('the escaped process gone', () => !alive(escaped), 5_000, 100);
  } finally {
    if (alive(escaped)) process.kill(escaped, 'SIGKILL');
  }
});

test('a dry run kills nothing and records the pids it would have killed', async () => {
  const shell = run('bash', ['-c', 'sh -c "sleep 300; true" & wait']);
  await new Promise((r) => shell.once('spawn', r));
  await stored(shell.pid!);
  const { status, record } = respond(['--pid', String(shell.pid), '--tree', '--dry-run']);
  assert.equal(status, 0, JSON.stringify(record));
  assert.equal(record.result?.outcome, 'dry-run');
  assert.equal(record.result.pids.length, 3);
  assert.ok(record.result.pids.every(alive), 'nothing was killed');
  for (const p of record.result.pids) process.kill(p, 'SIGKILL');
  const row = audit(record.order.id);
  assert.equal(row?.outcome, 'dry-run');
  assert.equal(Number(row?.dry_run), 1);
});

test('an order with another start time than the live process (a reused pid) is refused; the process lives', () => {
  const victim = run('sleep', ['300']);
  const earlier = (procStartTs(victim.pid!) - 7_000_000_000n).toString();
  const { status, record } = respond(['--pid', String(victim.pid), '--start-ts', earlier]);
  assert.equal(status, 1);
  assert.equal(record.result?.outcome, 'refused');
  assert.match(record.result.reason, /reused/);
  assert.ok(alive(victim.pid!));
  assert.equal(audit(record.order.id)?.outcome, 'refused');
});

test('an order for pid 1 is refused', () => {
  const { status, record } = respond(['--pid', '1', '--start-ts', procStartTs(1).toString()]);
  assert.equal(status, 1);
  assert.equal(record.result?.outcome, 'refused');
  assert.match(record.result.reason, /pid 1/);
});

test('an order signed with another key is refused; an answer for another host is refused and counted', async () => {
  const victim = run('sleep', ['300']);
  await new Promise((r) => victim.once('spawn', r));
  const now = BigInt(Date.now()) * 1_000_000n;
  const unsigned: Omit<ResponseOrderV1, 'signature'> = {
    id: randomUUID(),
    v: 1,
    host: HOST,
    action: 'kill',
    pid: victim.pid!,
    startTs: procStartTs(victim.pid!).toString(),
    requestedBy: 'intruder',
    reason: '',
    incidentId: null,
    alertId: null,
    dryRun: false,
    issuedTs: now.toString(),
    expiresTs: (now + 10_000_000_000n).toString(),
  };
  const forged = {
    ...unsigned,
    signature: sign(null, responseSigningBytes(unsigned), generateKeyPairSync('ed25519').privateKey).toString('base64'),
  };
  const answers = nc.subscribe(responseResultSubject(HOST), { max: 1 });
  nc.publish(responseOrderSubject(HOST), JSON.stringify(forged));
  let answer: ResponseResultV1 | null = null;
  for await (const m of answers) answer = JSON.parse(m.string()) as ResponseResultV1;
  assert.equal(answer?.orderId, forged.id);
  assert.equal(answer?.outcome, 'refused');
  assert.match(answer.reason, /signature/);
  assert.ok(alive(victim.pid!));

  const lie: ResponseResultV1 = { ...answer, host: 'another-host' };
  nc.publish(responseResultSubject(HOST), JSON.stringify(lie));
  await waitFor(
    'the answer for another host counted',
    () =>
      (vigilJson<StatusReport>(api, ['status']).controlPlane.responses?.rejectedResults?.['host-mismatch'] ?? 0) >= 1,
    10_000,
    200,
  );
});
