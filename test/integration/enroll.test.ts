/**
 * Enrollment under a real `vigil up` (nats-server in operator mode): two sensor processes, each a
 * "host" with its own id and credentials dir, enroll with one token through a recording proxy (what
 * the control plane received), heartbeat under their own ids; one host's credential cannot publish
 * as the other; bad tokens are refused; a revoked host is cut off and refused, the other goes on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from 'nats';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { NatsAuthority } from '@vigil/control-plane/enroll';
import {
  EVENTS_STREAM,
  type EnrollToken,
  type HostsReport,
  heartbeatSubject,
  renewProof,
  SENSOR_CREDS_FILE,
  sensorInboxPrefix,
} from '@vigil/schema';
import {
  REPO,
  startVigil,
  startVigilUp,
  tempDir,
  vigil,
  vigilJson,
  waitFor,
  type VigilUp,
} from '../support/harness.js';

const dir = tempDir('enroll');
const data = join(dir, 'data');
const LOCAL = `enr-local-${process.pid}`;
const A = `enr-a-${process.pid}`;
const B = `enr-b-${process.pid}`;
let stack: VigilUp;
let natsUrl = '';
let proxy: Server;
let proxyUrl = '';
/** Every request body the control plane received from the sensors, as received. */
const received: { path: string; body: string }[] = [];
const sensors: Record<string, ReturnType<typeof startVigil>> = {};
const credsDir = (host: string) => join(dir, `creds-${host}`);
const credsOf = (host: string) => readFileSync(join(credsDir(host), SENSOR_CREDS_FILE));
const hosts = () => vigilJson<HostsReport>(stack.api, ['hosts']);
const rowOf = (host: string) => hosts().hosts.find((h) => h.host === host);

/** A plain forwarder to the API that keeps each request body: the sensor talks to it as to the control plane. */
function startProxy(target: string): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    received.push({ path: req.url ?? '', body });
    const r = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      ...(body ? { body } : {}),
    });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
    res.end(await r.text());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function startHostSensor(host: string, token: string) {
  sensors[host] = startVigil([
    'sensor',
    '--host-id',
    host,
    '--enroll',
    proxyUrl,
    '--token',
    token,
    '--creds-dir',
    credsDir(host),
    '--spool-dir',
    join(dir, `spool-${host}`),
    '--probe',
    'exec',
  ]);
}

const connectAs = (host: string, extra: object = {}) =>
  connect({
    servers: natsUrl,
    authenticator: credsAuthenticator(credsOf(host)),
    inboxPrefix: sensorInboxPrefix(host),
    ...extra,
  });

before(async () => {
  stack = await startVigilUp(data, LOCAL, ['--probe', 'exec']);
  proxy = await startProxy(stack.api);
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const token = vigilJson<EnrollToken>(stack.api, ['hosts', 'token', 'create', '--uses', '2', '--expires', '10m']);
  startHostSensor(A, token.token);
  startHostSensor(B, token.token);
  await waitFor(
    'both hosts enrolled and heartbeating with their exec probe running',
    () => [A, B].every((h) => rowOf(h)?.lastHeartbeatTs && rowOf(h)?.probes.exec === 'running'),
    90_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${[A, B].map((h) => sensors[h]!.logs.join('').slice(-2000)).join('\n---\n')}`);
  });
  // Where enrollment told the sensor to connect.
  natsUrl = (JSON.parse(readFileSync(join(credsDir(A), 'enrollment.json'), 'utf8')) as { natsUrls: string[] })
    .natsUrls[0]!;
});

after(async () => {
  for (const s of Object.values(sensors)) await s.stop();
  await stack?.up.stop();
  proxy?.close();
});

test('two hosts enroll with one token, each with its own key; the seed stays on the host, root only', () => {
  const a = rowOf(A)!;
  const b = rowOf(B)!;
  assert.equal(a.state, 'active');
  assert.equal(b.state, 'active');
  assert.notEqual(a.publicKey, b.publicKey);
  assert.ok(Date.parse(a.credentialExpiresTs!) > Date.now() + 29 * 24 * 3600 * 1000, 'a 30-day credential');
  for (const h of [A, B]) {
    assert.equal(statSync(join(credsDir(h), SENSOR_CREDS_FILE)).mode & 0o777, 0o600);
    const seed = /^SU[A-Z2-7]{56}$/m.exec(credsOf(h).toString())![0];
    const enrolls = received.filter((r) => r.path === '/api/v1/enroll' && JSON.parse(r.body).host === h);
    assert.equal(enrolls.length, 1, `one enrollment from ${h}`);
    assert.equal(JSON.parse(enrolls[0]!.body).publicKey, rowOf(h)!.publicKey);
    for (const r of received) assert.ok(!r.body.includes(seed), `the seed of ${h} was sent to ${r.path}`);
  }
});

test("host A's credential cannot publish as host B: refused by nats-server, nothing stored for B", async () => {
  const nc = await connectAs(A);
  try {
    const js = nc.jetstream();
    const forged = `vigil.events.${B}.forged`;
    await assert.rejects(
      js.publish(forged, JSON.stringify({ id: randomUUID(), host: B })),
      /Permissions Violation for Publish/,
    );
    await assert.rejects(js.publish(heartbeatSubject(B), '{}'), /Permissions Violation for Publish/);
    const cp = await connect({
      servers: natsUrl,
      ...(await new NatsAuthority(join(data, 'secrets')).controlPlaneCreds()).options,
    });
    try {
      await assert.rejects(
        (await cp.jetstreamManager()).streams.getMessage(EVENTS_STREAM, { last_by_subj: forged }),
        /no message found/,
      );
    } finally {
      await cp.close();
    }
  } finally {
    await nc.close();
  }
});

test('a used-up, a wrong or a malformed token is refused with a clear error, and counted', async () => {
  const post = (body: object) =>
    fetch(`${stack.api}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const used = JSON.parse(received.find((r) => r.path === '/api/v1/enroll')!.body) as {
    token: string;
    publicKey: string;
  };
  const other = { host: `enr-c-${process.pid}`, publicKey: used.publicKey.replace(/^U./, 'UA'), version: '0' };
  const r1 = await post({ ...other, token: used.token });
  assert.equal(r1.status, 403);
  assert.match(((await r1.json()) as { error: string }).error, /enrollment token refused: used up/);
  const r2 = await post({ ...other, token: 'x'.repeat(43) });
  assert.equal(r2.status, 403);
  assert.match(((await r2.json()) as { error: string }).error, /enrollment token refused: unknown/);
  const r3 = await post({ ...other, token: 'short' });
  assert.equal(r3.status, 400);
  // The sensor says why and stops: no credential is written.
  const fresh = vigil(stack.api, [
    'sensor',
    '--host-id',
    `enr-d-${process.pid}`,
    '--enroll',
    stack.api,
    '--token',
    'y'.repeat(43),
    '--creds-dir',
    join(dir, 'creds-d'),
  ]);
  assert.equal(fresh.status, 1);
  assert.match(fresh.stderr.replace(/\s*›\s*/g, ' '), /refused \(403\): enrollment token refused: unknown/);
  const rejects = hosts().rejects;
  assert.ok(
    (rejects['token used up'] ?? 0) >= 1 && (rejects['token unknown'] ?? 0) >= 2 && (rejects.malformed ?? 0) >= 1,
    JSON.stringify(rejects),
  );
});

test('a host id enrolled with another key is refused until it is revoked', async () => {
  const token = vigilJson<EnrollToken>(stack.api, ['hosts', 'token', 'create']).token;
  const r = await fetch(`${stack.api}/api/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, host: A, publicKey: `U${'A'.repeat(55)}`, version: '0' }),
  });
  assert.equal(r.status, 409);
  assert.match(((await r.json()) as { error: string }).error, new RegExp(`host ${A} is enrolled with another key`));
});

test('a host renews its credential with a signature of its key; a forged or stale signature is refused', async () => {
  const seed = /^SU[A-Z2-7]{56}$/m.exec(credsOf(B).toString())![0];
  const kp = fromSeed(new TextEncoder().encode(seed));
  const renew = (ts: number, signer = kp) =>
    fetch(`${stack.api}/api/v1/hosts/renew`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        host: B,
        publicKey: kp.getPublicKey(),
        ts,
        signature: Buffer.from(signer.sign(new TextEncoder().encode(renewProof(B, ts)))).toString('base64url'),
      }),
    });
  const ok = await renew(Date.now());
  assert.equal(ok.status, 200);
  const { jwt } = (await ok.json()) as { jwt: string };
  const nc = await connect({
    servers: natsUrl,
    authenticator: jwtAuthenticator(jwt, new TextEncoder().encode(seed)),
    inboxPrefix: sensorInboxPrefix(B),
  });
  await nc.flush();
  await nc.close();
  const forged = await renew(Date.now(), createUser());
  assert.equal(forged.status, 403);
  assert.match(((await forged.json()) as { error: string }).error, /not signed by the host key/);
  const stale = await renew(Date.now() - 3600_000);
  assert.equal(stale.status, 403);
  assert.match(((await stale.json()) as { error: string }).error, /more than 300 s from the control plane's clock/);
});

test('a sensor whose credential is in the last third of its life renews it before it connects, keeping its key', async () => {
  const before = rowOf(B)!;
  const oldCreds = credsOf(B).toString();
  await sensors[B]!.stop();
  // The enrollment record is what the sensor reads its credential's age from: 21 of 30 days gone.
  const file = join(credsDir(B), 'enrollment.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as { issuedTs: string; expiresTs: string };
  state.expiresTs = new Date(Date.now() + 9 * 24 * 3600_000).toISOString();
  state.issuedTs = new Date(Date.parse(state.expiresTs) - 30 * 24 * 3600_000).toISOString();
  writeFileSync(file, JSON.stringify(state));
  startHostSensor(B, 'not-used-once-enrolled-000000');
  await waitFor('the .creds file rewritten', () => credsOf(B).toString() !== oldCreds, 90_000, 500).catch(
    (err: Error) => {
      throw new Error(`${err.message}\n${sensors[B]!.logs.join('').slice(-3000)}`);
    },
  );
  assert.ok(received.some((r) => r.path === '/api/v1/hosts/renew' && JSON.parse(r.body).host === B));
  // The old process's last heartbeat came before the renewal; this one comes from the renewed credential.
  const renewedMs = Date.now();
  await waitFor('B heartbeating again', () => Date.parse(rowOf(B)!.lastHeartbeatTs!) > renewedMs, 90_000, 500);
  const after = rowOf(B)!;
  assert.equal(after.publicKey, before.publicKey);
  assert.ok(after.credentialExpiresTs! > before.credentialExpiresTs!, 'a later expiry');
  const seed = /^SU[A-Z2-7]{56}$/m.exec(oldCreds)![0];
  assert.ok(credsOf(B).toString().includes(seed), 'the same key');
});

test('revoking host A closes its connection and refuses its reconnects; host B goes on', async () => {
  let a: NatsConnection | null = await connectAs(A, { maxReconnectAttempts: 0 });
  const closed = a.closed();
  const r = vigil(stack.api, ['hosts', 'revoke', A]);
  assert.equal(r.status, 0, r.stderr);
  await closed;
  a = null;
  await assert.rejects(connectAs(A, { maxReconnectAttempts: 0 }), /Authorization Violation/);
  assert.equal(rowOf(A)!.state, 'revoked');
  const since = Date.parse(rowOf(B)!.lastHeartbeatTs!);
  await waitFor(
    'a heartbeat from B after the revocation',
    () => Date.parse(rowOf(B)!.lastHeartbeatTs!) > since,
    30_000,
    500,
  );
  const b = await connectAs(B);
  await b.flush();
  await b.close();
});

test("vigil hosts lists the host that never enrolled (vigil up's own sensor) with its version; vigil status shows it too", () => {
  const { version } = JSON.parse(readFileSync(join(REPO, 'cli', 'package.json'), 'utf8')) as { version: string };
  const report = hosts();
  assert.deepEqual(
    report.notEnrolled?.map((h) => [h.host, h.version, typeof h.lastHeartbeatTs]),
    [[LOCAL, version, 'string']],
    'the enrolled hosts are not listed again',
  );
  for (const h of [A, B]) assert.equal(report.hosts.find((x) => x.host === h)?.version, version);
  const text = vigil(stack.api, ['hosts']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^${LOCAL}\\s+not-enrolled\\s+${version.replaceAll('.', '\\.')}\\s+\\d{4}-`, 'm'),
  );
  const status = vigil(stack.api, ['status']);
  assert.match(status.stdout, /^HOST\s+VERSION\s+LAST HEARTBEAT/m);
  for (const h of [LOCAL, B])
    assert.match(status.stdout, new RegExp(`^${h}\\s+${version.replaceAll('.', '\\.')}\\s`, 'm'));
});
