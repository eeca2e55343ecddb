/**
 * `vigil up` serving TLS with what `vigil certs` made, from vigil.yaml's `tls:` and `listen:` (a
 * loopback address, through the same path as any other): nats-server and the API take TLS only and
 * require client certificates (clientAuth), the sensor's events still arrive (its parts present the
 * server's certificate), a plain-text NATS client is refused, the CLI reaches the API with the CA and
 * its client certificate and says what is missing without them; off loopback without TLS, vigil up
 * refuses to start and names `vigil certs`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { connect, credsAuthenticator } from 'nats';
import { sensorInboxPrefix, type EnrollToken, type EventV1, type HostsReport, type StatusReport } from '@vigil/schema';
import { CLI, freePort, startVigil, tempDir, vigil, waitFor } from '../support/harness.js';

const dir = tempDir('tls');
const data = join(dir, 'data');
const certs = join(dir, 'certs');
const HOST = `tls-${process.pid}`;
let api = '';
let natsPort = 0;
let up: ReturnType<typeof startVigil>;

const ca = join(certs, 'ca.pem');
/** The CLI as a user on another host runs it: the CA and a client certificate, the token it was given. */
const clientEnv = {
  VIGIL_CA: ca,
  VIGIL_CLIENT_CERT: join(certs, 'client-ops.pem'),
  VIGIL_CLIENT_KEY: join(certs, 'client-ops-key.pem'),
};
const oneLine = (s: string) => s.replace(/\s*›\s*|\s+/g, ' ');

/** The first line a NATS server sends (INFO), and whether it then closes on a client that never starts TLS. */
function plainTextClient(port: number): Promise<{ info: string; text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    let text = '';
    let sent = false;
    let ours = false;
    s.on('data', (d) => {
      text += d.toString();
      if (!sent && text.includes('\r\n')) {
        sent = true;
        s.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n');
      }
    });
    s.on('close', () => resolve({ info: text.split('\r\n')[0]!, text, closedByServer: !ours }));
    s.on('error', () => {});
    setTimeout(() => {
      ours = true;
      s.destroy();
    }, 10_000).unref();
  });
}

before(async () => {
  const made = spawnSync(process.execPath, [CLI, 'certs', '--dir', certs, '--client', 'ops'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const apiPort = await freePort();
  natsPort = await freePort();
  api = `https://127.0.0.1:${apiPort}`;
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `listen: 127.0.0.1\ntls:\n  ca: certs/ca.pem\n  cert: certs/server.pem\n  key: certs/server-key.pem\n  clientAuth: true\n`,
  );
  up = startVigil([
    'up',
    '--config',
    config,
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
  ]);
  await waitFor(
    'vigil up over TLS with its sensor',
    () => {
      if (!up.logs.join('').includes('vigil is up')) return false;
      const r = vigil(api, ['status', '--json'], clientEnv);
      if (r.status !== 0) return false;
      const sensor = (JSON.parse(r.stdout) as StatusReport).sensors.find((s) => s.host === HOST);
      return sensor?.probes.some((p) => p.name === 'exec' && p.state === 'running') ?? false;
    },
    90_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- vigil up ---\n${up.logs.join('').slice(-4000)}`);
  });
});

after(async () => {
  assert.equal(await up?.stop(), 0, up?.logs.join('').slice(-2000));
});

test("the sensor's events arrive over TLS", async () => {
  const marker = join(dir, `tls-marker-${process.pid}`);
  copyFileSync('/bin/true', marker);
  spawnSync('chmod', ['755', marker]);
  await waitFor(
    "the marker's exec stored",
    () => {
      spawnSync(marker);
      const r = vigil(api, ['events', '--exe', marker, '--kind', 'exec', '--json'], clientEnv);
      assert.equal(r.status, 0, r.stderr || r.stdout);
      return (JSON.parse(r.stdout) as EventV1[]).some((e) => e.host === HOST);
    },
    60_000,
    1000,
  );
});

test('a sensor elsewhere enrolls over HTTPS with the CA and its client certificate, then sends over TLS to NATS', async () => {
  const remote = `tls-remote-${process.pid}`;
  const { token } = JSON.parse(
    vigil(api, ['hosts', 'token', 'create', '--uses', '2', '--json'], clientEnv).stdout,
  ) as EnrollToken;
  const enroll = (env: Record<string, string>, creds: string): [string[], Record<string, string>] => [
    ['sensor', '--enroll', api, '--token', token, '--creds-dir', creds, '--host-id', remote, '--probe', 'exec'],
    env,
  ];
  // Without the CA the enrollment is refused before anything is sent, and says what to pass.
  const [args, noCa] = enroll({ VIGIL_CA: '', VIGIL_CLIENT_CERT: '', VIGIL_CLIENT_KEY: '' }, join(dir, 'creds-no-ca'));
  const refused = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...noCa },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.notEqual(refused.status, 0);
  assert.match(oneLine(refused.stderr), /enrollment at https:\/\/127\.0\.0\.1:\d+: .*--ca/);

  const creds = join(dir, 'creds-remote');
  const sensor = startVigil(...enroll(clientEnv, creds));
  try {
    await waitFor(
      "the enrolled sensor's heartbeat",
      () =>
        (JSON.parse(vigil(api, ['hosts', '--json'], clientEnv).stdout) as HostsReport).hosts.some(
          (h) => h.host === remote && h.lastHeartbeatTs !== null,
        ),
      90_000,
      1000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- sensor ---\n${sensor.logs.join('').slice(-3000)}`);
    });
    assert.equal(statSync(join(creds, 'sensor.creds')).mode & 0o777, 0o600);
    const marker = join(dir, `tls-remote-marker-${process.pid}`);
    copyFileSync('/bin/true', marker);
    spawnSync('chmod', ['755', marker]);
    await waitFor(
      "the enrolled sensor's exec of the marker stored",
      () => {
        spawnSync(marker);
        const r = vigil(api, ['events', '--exe', marker, '--host', remote, '--kind', 'exec', '--json'], clientEnv);
        return r.status === 0 && (JSON.parse(r.stdout) as EventV1[]).length > 0;
      },
      60_000,
      1000,
    );
  } finally {
    assert.equal(await sensor.stop(), 0, sensor.logs.join('').slice(-2000));
  }
});

test('a plain-text NATS client is refused: the server requires TLS', async () => {
  // The protocol by hand, as a client that never starts TLS: the server closes on it without a PONG.
  const got = await plainTextClient(natsPort);
  assert.match(got.info, /"tls_required":true/);
  assert.doesNotMatch(got.text, /PONG/);
  assert.ok(got.closedByServer, `the server kept a plain-text client: ${got.text}`);
});

test('with clientAuth a NATS client without a certificate is refused, even with a valid credential', async () => {
  // The local sensor's own credential: only the certificate differs between the two connections.
  const creds = credsAuthenticator(readFileSync(join(data, 'secrets', 'nats-sensor.creds')));
  const base = {
    servers: `nats://127.0.0.1:${natsPort}`,
    authenticator: creds,
    inboxPrefix: sensorInboxPrefix(HOST),
    reconnect: false,
    timeout: 5000,
  };
  await assert.rejects(connect({ ...base, tls: { caFile: ca } }));
  const nc = await connect({
    ...base,
    tls: { caFile: ca, certFile: clientEnv.VIGIL_CLIENT_CERT, keyFile: clientEnv.VIGIL_CLIENT_KEY },
  });
  await nc.flush();
  await nc.close();
});

test('the CLI reaches the API over https with the CA and its client certificate', () => {
  const r = vigil(api, ['status', '--json'], clientEnv);
  assert.equal(r.status, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as StatusReport).sensors.some((s) => s.host === HOST));
});

test('without the CA the CLI fails with an error that names --ca', () => {
  const r = vigil(api, ['status'], { ...clientEnv, VIGIL_CA: undefined });
  assert.equal(r.status, 1);
  assert.match(oneLine(r.stderr), /presented a certificate this CLI does not trust .*--ca FILE or set VIGIL_CA/);
});

test('with clientAuth the API refuses a client without a certificate, and the CLI says which flags it wants', () => {
  const r = vigil(api, ['status'], { VIGIL_CA: ca, VIGIL_CLIENT_CERT: undefined, VIGIL_CLIENT_KEY: undefined });
  assert.equal(r.status, 1);
  assert.match(
    oneLine(r.stderr),
    /requires a client certificate \(mutual TLS\) does to a client without one: pass --client-cert and --client-key/,
  );
});

test('off loopback without TLS vigil up refuses to start, naming vigil certs', async () => {
  for (const args of [
    ['--listen', '0.0.0.0'],
    ['--api-host', '0.0.0.0'],
  ]) {
    const r = spawnSync(
      process.execPath,
      [CLI, 'up', '--data-dir', join(dir, 'plain'), '--nats-port', String(await freePort()), ...args],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      oneLine(r.stderr),
      /0\.0\.0\.0 would be off loopback without TLS: create certificates with `vigil certs`/,
    );
  }
});

test('--print-nats-config prints the configuration vigil up runs: a nats-server started with it wants TLS and client certificates', async () => {
  const port = await freePort();
  const printed = spawnSync(
    process.execPath,
    [
      CLI,
      'up',
      '--print-nats-config',
      '--data-dir',
      join(dir, 'printed'),
      '--tls-dir',
      certs,
      '--tls-client-auth',
      '--nats-port',
      String(port),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, /^operator: /m);
  const conf = join(dir, 'printed.conf');
  writeFileSync(conf, printed.stdout);
  const server = spawn('nats-server', ['-c', conf], { stdio: 'ignore' });
  try {
    await waitFor(
      'the printed nats-server listening',
      async () => (await plainTextClient(port)).info.startsWith('INFO'),
      15_000,
      200,
    );
    const got = await plainTextClient(port);
    assert.match(got.info, /"auth_required":true/);
    assert.match(got.info, /"tls_required":true/);
    assert.match(got.info, /"tls_verify":true/);
    assert.ok(got.closedByServer);
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
});
