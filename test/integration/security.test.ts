/**
 * The pipeline locked down, with a real nats-server enforcing per-host permissions: sensors and the
 * control plane authenticate; a host can publish only its own subjects; the API wants its token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type RunningControlPlane } from '@vigil/control-plane';
import { eventSubject, sensorInboxPrefix, type EventV1, type ExecEventV1 } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, startVigil, tempDir, vigilAsync, waitFor } from '../support/harness.js';
import { exitEvent } from '../support/ingest-stack.js';

const dir = tempDir('sec');
const log = pino({ level: 'silent' });
const TOKEN = randomUUID();
let nats: LocalNats;
let cp: RunningControlPlane;

const event = (host: string): EventV1 =>
  exitEvent(host, 0, { pid: 1, ppid: 0, comm: 'x', exe: '/x', argv: [], cgroupId: 0 });

before(async () => {
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    `authorization {
  users: [
    { user: "host-a", password: "pa", permissions: { publish: ["vigil.events.host-a.>", "vigil.sensor.host-a.>"], subscribe: ["${sensorInboxPrefix('host-a')}.>"] } }
    { user: "cp", password: "pcp", permissions: { publish: [">"], subscribe: [">"] } }
  ]
}\n`,
  );
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), configFile: conf, log });
  cp = await startControlPlane({
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url, user: 'cp', pass: 'pcp' },
    api: { host: '127.0.0.1', port: await freePort(), token: TOKEN },
    log,
  });
});

after(async () => {
  await cp?.stop();
  await nats?.stop();
});

const authed = (path: string) => fetch(`${cp.apiUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });

test('the API refuses requests without its bearer token; the CLI sends VIGIL_API_TOKEN', async () => {
  assert.equal((await fetch(`${cp.apiUrl}/api/v1/status`)).status, 401);
  assert.equal((await fetch(`${cp.apiUrl}/api/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  assert.equal((await authed('/api/v1/status')).status, 200);
  // The scrape names every host and its counts: behind the token too.
  assert.equal((await fetch(`${cp.apiUrl}/metrics`)).status, 401);
  assert.equal((await authed('/metrics')).status, 200);
  const without = await vigilAsync(cp.apiUrl, ['status'], { VIGIL_API_TOKEN: undefined, VIGIL_DATA_DIR: dir });
  assert.notEqual(without.status, 0);
  assert.match(without.stderr, /bearer token/);
  assert.equal((await vigilAsync(cp.apiUrl, ['status'], { VIGIL_API_TOKEN: TOKEN })).status, 0);
});

test('an API bound beyond loopback without a token is refused at start', async () => {
  await assert.rejects(
    startControlPlane({
      storage: { kind: 'server', url: 'http://127.0.0.1:1' },
      nats: { servers: nats.url, user: 'cp', pass: 'pcp' },
      api: { host: '0.0.0.0', port: 0 },
      log,
    }),
    /config: the API may listen on 0\.0\.0\.0 only with a token/,
  );
});

test('wrong NATS credentials are a clear error', async () => {
  await assert.rejects(
    connect({ servers: nats.url, user: 'cp', pass: 'nope', maxReconnectAttempts: 0 }),
    /Authorization Violation/i,
  );
});

test('a host may publish only its own subjects', async () => {
  const nc = await connect({ servers: nats.url, user: 'host-a', pass: 'pa', inboxPrefix: sensorInboxPrefix('host-a') });
  try {
    const js = nc.jetstream();
    const mine = event('host-a');
    await js.publish(eventSubject('host-a', 'exit'), JSON.stringify(mine), { msgID: mine.id });
    const forged = event('host-b');
    await assert.rejects(
      js.publish(eventSubject('host-b', 'exit'), JSON.stringify(forged), { msgID: forged.id, timeout: 2000 }),
    );
    await waitFor('its own event stored', async () =>
      ((await (await authed('/api/v1/events?host=host-a')).json()) as { events: EventV1[] }).events.some(
        (e) => e.id === mine.id,
      ),
    );
    const b = (await (await authed('/api/v1/events?host=host-b')).json()) as { events: EventV1[] };
    assert.equal(b.events.length, 0, 'nothing stored for the host it tried to impersonate');
  } finally {
    await nc.close();
  }
});

test('a real sensor authenticates with --nats-user/--nats-pass and its execs arrive', async () => {
  const sensor = startVigil([
    'sensor',
    '--nats',
    nats.url,
    '--nats-user',
    'host-a',
    '--nats-pass',
    'pa',
    '--host-id',
    'host-a',
    '--probe',
    'exec',
    '--spool-dir',
    join(dir, 'spool'),
  ]);
  try {
    const marker = `sec-${randomUUID()}`;
    await waitFor(
      'the sensor tracing',
      async () => {
        spawnSync('/bin/true', [marker]);
        const r = (await (await authed('/api/v1/events?host=host-a&kind=exec&limit=1000')).json()) as {
          events: ExecEventV1[];
        };
        return r.events.some((e) => e.exec.argv[1] === marker);
      },
      60_000,
      1000,
    );
  } finally {
    assert.equal(await sensor.stop(), 0);
  }
});

test('NATS over TLS: the control plane verifies the server with --nats-tls-ca (and is refused without it)', async () => {
  const tls = join(dir, 'tls');
  execFileSync('mkdir', ['-p', tls]);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=vigil-test-ca',
    '-keyout',
    join(tls, 'ca.key'),
    '-out',
    join(tls, 'ca.pem'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    join(tls, 'server.key'),
    '-out',
    join(tls, 'server.csr'),
  );
  writeFileSync(join(tls, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    join(tls, 'server.csr'),
    '-CA',
    join(tls, 'ca.pem'),
    '-CAkey',
    join(tls, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    join(tls, 'ext.cnf'),
    '-out',
    join(tls, 'server.pem'),
  );
  const conf = join(tls, 'nats.conf');
  writeFileSync(
    conf,
    `tls {\n  cert_file: "${join(tls, 'server.pem')}"\n  key_file: "${join(tls, 'server.key')}"\n}\n`,
  );
  const secure = await startLocalNats({
    dataDir: join(dir, 'tls-nats'),
    port: await freePort(),
    configFile: conf,
    log,
  });
  try {
    await assert.rejects(
      connect({ servers: secure.url, maxReconnectAttempts: 0, tls: {} }),
      /certificate|self.signed|unable to verify/i,
      'an unknown CA is refused',
    );
    const { natsOptions } = await import('@vigil/cli/nats-options');
    const nc = await connect({
      ...natsOptions(secure.url, { 'nats-tls-ca': join(tls, 'ca.pem') }),
      maxReconnectAttempts: 0,
    });
    assert.equal(nc.info?.tls_required, true);
    await nc.close();
  } finally {
    await secure.stop();
  }
});
