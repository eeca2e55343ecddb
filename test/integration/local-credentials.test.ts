/**
 * `vigil up` as `npm start` runs it (no token given, its own nats-server), attacked from this host as
 * the unprivileged user `nobody`: the data directory, the NATS credentials and the API token are
 * closed to it, NATS refuses it, the API answers it 401; a forged Host header is refused; the
 * sensor's own NATS user reaches nothing beyond its host's subjects; a restart keeps the secrets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { connect, credsAuthenticator } from 'nats';
import { NatsAuthority } from '@vigil/control-plane/enroll';
import {
  CONTROL_PLANE_INBOX_PREFIX,
  EVENTS_STREAM,
  eventSubject,
  heartbeatSubject,
  sensorInboxPrefix,
  type StatusReport,
} from '@vigil/schema';
import { CLI, freePort, startVigil, subscriptionRefused, tempDir, vigil, waitFor } from '../support/harness.js';

const dir = tempDir('creds');
const data = join(dir, 'data');
const HOST = `creds-${process.pid}`;
// The CLI as root finds the token by itself, in the data directory.
const env = { VIGIL_API_TOKEN: undefined, VIGIL_DATA_DIR: data };
const hasReaderGroup = spawnSync('getent', ['group', 'vigil']).status === 0;
let apiPort = 0;
let natsPort = 0;
let api = '';
let up: ReturnType<typeof startVigil>;

const oneLine = (s: string) => s.replace(/\s*›\s*|\s+/g, ' ');
const mode = (p: string) => statSync(p).mode & 0o777;
const secret = (name: string) => readFileSync(join(data, name), 'utf8').trim();

/** Runs a command as `nobody`, with none of this process's environment but PATH. */
const asNobody = (cmd: string, args: string[], extra: Record<string, string> = {}) =>
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', cmd, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH!, HOME: '/nonexistent', ...extra },
  });
const nodeAsNobody = (script: string) => asNobody(process.execPath, ['--input-type=module', '-e', script]);

async function startUp(): Promise<void> {
  up = startVigil(
    [
      'up',
      '--data-dir',
      data,
      '--api-port',
      String(apiPort),
      '--nats-port',
      String(natsPort),
      '--host-id',
      HOST,
      '--probe',
      'exec',
    ],
    env,
  );
  await waitFor(
    'vigil up with its sensor',
    () => {
      // Started (the status may list the sensor from the last run's heartbeat before it runs again).
      if (!up.logs.join('').includes('vigil is up')) return false;
      const r = vigil(api, ['status', '--json'], env);
      return r.status === 0 && (JSON.parse(r.stdout) as StatusReport).sensors.some((s) => s.host === HOST);
    },
    90_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- vigil up ---\n${up.logs.join('').slice(-3000)}`);
  });
}

before(async () => {
  apiPort = await freePort();
  natsPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  // Open to all, as `mkdir /var/lib/vigil` leaves a data directory: only what vigil up does keeps
  // nobody out. A token left readable by all is no secret: it must be replaced.
  chmodSync(dir, 0o755);
  mkdirSync(data, { mode: 0o755 });
  chmodSync(data, 0o755);
  writeFileSync(join(data, 'api-token'), 'planted-token-readable-by-all\n', { mode: 0o644 });
  await startUp();
});

after(async () => {
  assert.equal(await up?.stop(), 0, up?.logs.join('').slice(-2000));
});

test('the data directory, the NATS credentials and the API token are root only; nobody can read any of them', () => {
  assert.equal(mode(data), hasReaderGroup ? 0o750 : 0o700);
  assert.equal(mode(join(data, 'secrets')), 0o700);
  assert.deepEqual(readdirSync(join(data, 'secrets')).sort(), [
    'nats-operator.json',
    'nats-sensor.creds',
    'nats-server.conf',
    'response-ed25519.key',
    'response-ed25519.pub',
  ]);
  for (const f of readdirSync(join(data, 'secrets'))) assert.equal(mode(join(data, 'secrets', f)), 0o600, f);
  assert.equal(mode(join(data, 'api-token')), hasReaderGroup ? 0o640 : 0o600);
  assert.notEqual(secret('api-token'), 'planted-token-readable-by-all', 'a token others could read is replaced');
  for (const f of [
    'api-token',
    'secrets/nats-server.conf',
    'secrets/nats-sensor.creds',
    'secrets/nats-operator.json',
    'secrets/response-ed25519.key',
  ]) {
    const r = asNobody('cat', [join(data, f)]);
    assert.notEqual(r.status, 0, `nobody read ${f}`);
    assert.match(r.stderr, /Permission denied/);
  }
  assert.match(asNobody('ls', [join(data, 'clickhouse')]).stderr, /Permission denied/, 'nor the stored events');
});

test('nobody cannot use NATS without credentials (nor delete the consumer on the way)', async () => {
  // The NATS protocol by hand: nobody has no client library of its own, and needs none.
  const r = nodeAsNobody(`
    import { connect } from 'node:net';
    const s = connect(${natsPort}, '127.0.0.1');
    let got = '';
    let sent = false;
    s.on('data', (d) => {
      got += d;
      if (!sent && got.includes('\\r\\n')) {
        sent = true;
        s.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\\r\\nPUB $JS.API.CONSUMER.DELETE.${EVENTS_STREAM}.vigil-control-plane _INBOX.x 0\\r\\n\\r\\nSUB ${CONTROL_PLANE_INBOX_PREFIX}.> 1\\r\\nPING\\r\\n');
      }
      if (/PONG|-ERR/.test(got.split('\\r\\n').slice(1).join('\\n'))) s.end();
    });
    s.on('close', () => console.log(got));`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"auth_required":true/);
  assert.match(r.stdout, /-ERR 'Authorization Violation'/);
  assert.doesNotMatch(r.stdout, /PONG/);
  // Full rights, signed as the control plane's are, with the operator keys root reads.
  const nc = await connect({
    servers: `nats://127.0.0.1:${natsPort}`,
    ...(await new NatsAuthority(join(data, 'secrets')).controlPlaneCreds()).options,
  });
  try {
    const info = await (await nc.jetstreamManager()).consumers.info(EVENTS_STREAM, 'vigil-control-plane');
    assert.equal(info.name, 'vigil-control-plane', 'the durable consumer is still there');
  } finally {
    await nc.close();
  }
});

test('the API answers nobody 401 without the token, its CLI says where the token is; /healthz says only that it is alive', () => {
  const r = nodeAsNobody(`
    const s = await fetch('${api}/api/v1/status');
    const q = await fetch('${api}/api/v1/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT 1' }) });
    const h = await fetch('${api}/healthz');
    console.log(JSON.stringify({ status: s.status, query: q.status, health: h.status, healthBody: await h.text() }));`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { status: 401, query: 401, health: 200, healthBody: '{"ok":true}' });
  const cli = asNobody(process.execPath, [CLI, 'status'], { VIGIL_API: api, VIGIL_DATA_DIR: data });
  assert.equal(cli.status, 1);
  assert.match(
    oneLine(cli.stderr),
    /wants its bearer token: VIGIL_API_TOKEN is not set and .*\/data\/api-token cannot be read \(permission denied: run as root, or as a member of group vigil\)/,
  );
});

/** A GET with the given headers, through node:http (fetch does not let a caller set Host). */
const get = (path: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: apiPort, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

test("a forged Host header (DNS rebinding) is refused, even with the token; so is another site's Origin", async () => {
  const authorization = `Bearer ${secret('api-token')}`;
  assert.equal((await get('/api/v1/status', { host: `127.0.0.1:${apiPort}`, authorization })).status, 200);
  assert.equal((await get('/api/v1/status', { host: `localhost:${apiPort}`, authorization })).status, 200);
  assert.equal((await get('/api/v1/status', { host: `[::1]:${apiPort}`, authorization })).status, 200);
  const rebound = await get('/api/v1/status', { host: `rebind.attacker.example:${apiPort}`, authorization });
  assert.equal(rebound.status, 421);
  assert.match(rebound.body, /does not answer to Host/);
  assert.equal((await get('/healthz', { host: 'rebind.attacker.example' })).status, 421);
  assert.equal(
    (
      await get('/api/v1/status', {
        host: `127.0.0.1:${apiPort}`,
        origin: 'http://rebind.attacker.example',
        authorization,
      })
    ).status,
    403,
  );
});

test("the sensor's NATS user publishes its own host's subjects only: no other host, no JetStream API, no one else's replies", async () => {
  const nc = await connect({
    servers: `nats://127.0.0.1:${natsPort}`,
    authenticator: credsAuthenticator(readFileSync(join(data, 'secrets', 'nats-sensor.creds'))),
    inboxPrefix: sensorInboxPrefix(HOST),
  });
  try {
    const js = nc.jetstream();
    const body = (host: string) => JSON.stringify({ id: randomUUID(), host });
    assert.equal((await js.publish(eventSubject(HOST, 'exit'), body(HOST))).stream, EVENTS_STREAM);
    await assert.rejects(
      js.publish(eventSubject('other-host', 'exit'), body('other-host')),
      /Permissions Violation for Publish/,
    );
    await assert.rejects(
      js.publish(heartbeatSubject('other-host'), body('other-host')),
      /Permissions Violation for Publish/,
    );
    await assert.rejects(
      nc.request(`$JS.API.CONSUMER.DELETE.${EVENTS_STREAM}.vigil-control-plane`, ''),
      /Permissions Violation for Publish/,
    );
    await assert.rejects(nc.request(`$JS.API.STREAM.PURGE.${EVENTS_STREAM}`, ''), /Permissions Violation for Publish/);
    assert.equal(
      await subscriptionRefused(nc, `${CONTROL_PLANE_INBOX_PREFIX}.>`),
      true,
      "the control plane's pull deliveries",
    );
    assert.equal(await subscriptionRefused(nc, '_INBOX.>'), true);
    assert.equal(await subscriptionRefused(nc, 'vigil.events.>'), true);
    assert.equal(await subscriptionRefused(nc, `${sensorInboxPrefix(HOST)}.mine`), false, 'its own replies');
  } finally {
    await nc.close();
  }
});

test('a restart keeps the API token and the NATS credentials, and the CLI still finds its token', async () => {
  const before = ['api-token', 'secrets/nats-operator.json', 'secrets/response-ed25519.key'].map(secret);
  assert.equal(await up.stop(), 0, up.logs.join('').slice(-2000));
  await startUp();
  assert.deepEqual(['api-token', 'secrets/nats-operator.json', 'secrets/response-ed25519.key'].map(secret), before);
  const r = vigil(api, ['status'], env);
  assert.equal(r.status, 0, r.stderr);
});

test('the CLI loads no code named in the data directory (oclif reads VIGIL_DATA_DIR as its own)', () => {
  const planted = join(dir, 'planted');
  const marker = join(dir, 'planted-ran');
  mkdirSync(join(planted, 'plugin'), { recursive: true });
  writeFileSync(
    join(planted, 'package.json'),
    JSON.stringify({ oclif: { plugins: [{ type: 'link', name: 'planted', root: join(planted, 'plugin') }] } }),
  );
  writeFileSync(
    join(planted, 'plugin', 'package.json'),
    JSON.stringify({ name: 'planted', version: '1.0.0', type: 'module', oclif: { hooks: { init: './hook.js' } } }),
  );
  writeFileSync(
    join(planted, 'plugin', 'hook.js'),
    `import { writeFileSync } from 'node:fs';\nexport default async () => { writeFileSync(${JSON.stringify(marker)}, 'ran'); };\n`,
  );
  const r = vigil(api, ['status'], { VIGIL_DATA_DIR: planted, VIGIL_API_TOKEN: secret('api-token') });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(spawnSync('test', ['-e', marker]).status, 1, 'the planted hook did not run');
});

test('vigil up refuses a data directory another user owns (that user could read or swap its secrets)', async () => {
  const theirs = join(dir, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, 65534, 65534);
  const r = spawnSync(
    process.execPath,
    [CLI, 'up', '--data-dir', theirs, '--api-port', String(await freePort()), '--nats-port', String(await freePort())],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /data-dir: .*theirs belongs to uid 65534, not to the user Vigil runs as/);
  assert.deepEqual(readdirSync(theirs), [], 'nothing written there');
});
