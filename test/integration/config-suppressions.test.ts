/**
 * vigil.yaml under a real `vigil control-plane` (its CLI, a real nats-server, embedded chDB): a
 * suppression holds back a miner alert (listed by `vigil alerts --suppressed` with its reason, not by
 * `vigil alerts`); the file changed on disk to an invalid version is refused, shown in the status,
 * and the suppression stays; changed to a valid version without it, the next alert is raised. A file
 * invalid at start is an error before anything starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { eventSubject, type AlertV1, type StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { authHeaders, freePort, startVigil, tempDir, vigil, vigilJson, waitFor } from '../support/harness.js';
import { execEvent } from '../support/ingest-stack.js';

const HOST = 'cfg-host';
const MINER = '/tmp/lab/xmrig';
const SUPPRESSING = `# the lab's sanctioned miner benchmark
suppressions:
  - rule: "miner.*"
    reason: lab benchmark of the hashing kernel
    exe: ["/tmp/lab/*"]
`;

let nats: LocalNats;
let nc: NatsConnection;
let cp: ReturnType<typeof startVigil>;
let api: string;
let dir: string;
let file: string;

/** Written beside the file and renamed over it, as editors and config management do. */
const rewrite = (text: string) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};
const minerExec = (pid: number) =>
  nc
    .jetstream()
    .publish(
      eventSubject(HOST, 'exec'),
      JSON.stringify(execEvent(HOST, pid, [MINER, '-o', `stratum+tcp://127.0.0.1:${pid}`, '--donate-level=1'])),
    );
const alertsOf = (args: string[]) =>
  vigilJson<AlertV1[]>(api, ['alerts', '--since', '1h', '--rule', 'miner.exec', ...args]);
/** oclif wraps an error's message over lines, each behind " ›". */
const oneLine = (text: string) => text.replace(/\s*›\s*/g, ' ').replace(/\s+/g, ' ');
const status = () => vigilJson<StatusReport>(api, ['status']).controlPlane;

before(async () => {
  dir = tempDir('cfg');
  file = join(dir, 'vigil.yaml');
  writeFileSync(file, SUPPRESSING);
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log: pino({ level: 'silent' }) });
  nc = await connect({ servers: nats.url });
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  cp = startVigil(
    [
      'control-plane',
      '--config',
      file,
      '--nats',
      nats.url,
      '--data-dir',
      join(dir, 'clickhouse'),
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(port),
    ],
    { VIGIL_DATA_DIR: dir },
  );
  await waitFor('the control plane', () => status().nats === 'connected', 120_000, 500);
});

after(async () => {
  await cp?.stop();
  await nc?.close();
  await nats?.stop();
});

test('a file invalid at start: an error naming the file, the path and the line; nothing starts', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'suppressions:\n  - rule: miner.exec\n    reason: r\n    cmdline: "(oops"\n');
  const r = vigil(
    api,
    ['control-plane', '--config', bad, '--nats', 'nats://127.0.0.1:1', '--data-dir', join(dir, 'x')],
    {
      VIGIL_DATA_DIR: dir,
    },
  );
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /bad\.yaml: line 4: suppressions\[0\]\.cmdline: not a valid regular expression/);
  // VIGIL_CONFIG names it when no flag does.
  const env = vigil(api, ['control-plane', '--nats', 'nats://127.0.0.1:1', '--data-dir', join(dir, 'x')], {
    VIGIL_DATA_DIR: dir,
    VIGIL_CONFIG: bad,
  });
  assert.equal(env.status, 1);
  assert.match(oneLine(env.stderr), /bad\.yaml: line 4/);
  // vigil up refuses it before its nats-server, storage or sensor start: its data directory stays empty.
  const upDir = join(dir, 'up');
  const up = vigil(api, ['up', '--config', bad, '--data-dir', upDir, '--nats-port', '1']);
  assert.equal(up.status, 1);
  assert.match(oneLine(up.stderr), /bad\.yaml: line 4: suppressions\[0\]\.cmdline/);
  assert.equal(existsSync(upDir), false);
});

test('suppressed, listed with its reason; an invalid change keeps it; a valid change without it raises', async () => {
  assert.deepEqual({ ...status().config, loadedTs: null }, { path: file, loadedTs: null, reloads: 0, lastError: null });
  await minerExec(5001);
  const held = await waitFor('the suppressed alert', () =>
    alertsOf(['--suppressed']).find((a) => a.proc?.pid === 5001),
  );
  assert.deepEqual(held.suppressed, { index: 0, rule: 'miner.*', reason: 'lab benchmark of the hashing kernel' });
  assert.equal(held.proc?.exe, MINER);
  const table = vigil(api, ['alerts', '--since', '1h', '--suppressed']);
  assert.match(table.stdout, /suppressions\[0\] \(miner\.\*\): lab benchmark of the hashing kernel/);
  assert.deepEqual(alertsOf([]), []);
  assert.equal(status().suppressed?.byRule['miner.exec'], 1);

  // Invalid on disk: refused, told in the status; the suppression in force stays.
  rewrite('suppressions:\n  - rule: "miner.*"\n    reason: no condition left\n');
  const lastError = await waitFor('the reload error', () => status().config?.lastError);
  assert.match(lastError, /vigil\.yaml: line 2: suppressions\[0\]: a suppression needs at least one condition/);
  await minerExec(5002);
  await waitFor('the second suppressed alert', () => alertsOf(['--suppressed']).find((a) => a.proc?.pid === 5002));
  assert.deepEqual(alertsOf([]), []);

  // Valid without it: the next alert is raised. Its retention applies to the tables.
  assert.deepEqual(status().retention, {
    events: { ttlSeconds: 30 * 86_400, claimSeconds: 29 * 86_400 },
    alerts: { ttlSeconds: 180 * 86_400, claimSeconds: 179 * 86_400 },
    lastError: null,
  });
  rewrite('incidents:\n  window: 10m\nretention:\n  events: 7d\n');
  await waitFor('the reload', () => {
    const c = status().config;
    return c?.reloads === 1 && c.lastError === null;
  });
  await waitFor('the retention applied', () => status().retention?.events.ttlSeconds === 7 * 86_400);
  assert.equal(status().retention?.lastError, null);
  await minerExec(5003);
  const raised = await waitFor('the raised alert', () => alertsOf([]).find((a) => a.proc?.pid === 5003));
  assert.equal(raised.suppressed, undefined);
  assert.equal(
    alertsOf(['--suppressed']).some((a) => a.proc?.pid === 5003),
    false,
  );
  const metrics = await (await fetch(`${api}/metrics`, { headers: authHeaders })).text();
  assert.match(metrics, /vigil_alerts_suppressed_total\{rule="miner.exec"\} 2/);
  assert.match(metrics, /vigil_config_reloads_total 1/);
});
