import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, config, exec } from '../testing.js';

function alerts(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => ({ rule: a.ruleId, severity: a.severity, reason: a.reason }));
}

test('a renamed frpc started with -c frpc.toml (serverAddr and a proxy of local ssh): critical, naming file and lines', () => {
  const p = {
    pid: 6100,
    exe: '/tmp/.x/dbus-helper',
    comm: 'dbus-helper',
    argv: ['/tmp/.x/dbus-helper', '-c', 'frpc.toml'],
  };
  const got = alerts(
    exec(['/tmp/.x/dbus-helper', '-c', 'frpc.toml'], { pid: 6100 }),
    config(
      '/tmp/.x/frpc.toml',
      [
        '1: serverAddr = "10.1.2.3"',
        '2: serverPort = 7000',
        '4: [[proxies]]',
        '6: type = "tcp"',
        '7: localPort = 22',
        '8: remotePort = 6000',
      ],
      p,
    ),
  );
  assert.equal(got.length, 1, JSON.stringify(got));
  assert.equal(got[0]!.rule, 'tunnel.config');
  assert.equal(got[0]!.severity, 'critical');
  assert.match(
    got[0]!.reason,
    /frp client config \/tmp\/\.x\/frpc\.toml: far end 10\.1\.2\.3 \(`serverAddr = "10\.1\.2\.3"`, \/tmp\/\.x\/frpc\.toml line 1\)/,
  );
  assert.match(got[0]!.reason, /publishing `localPort = 22` \(line 7\)/);
});

test('frp INI, cloudflared and gost configs; a loopback far end or an ordinary service is high', () => {
  const ini = alerts(config('/etc/frp/frpc.ini', ['server_addr = 127.0.0.1', '[web]', 'local_port = 8000']));
  assert.deepEqual(
    ini.map((a) => [a.rule, a.severity]),
    [['tunnel.config', 'high']],
  );
  const cf = alerts(
    config('/home/u/.cloudflared/config.yml', [
      'tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef',
      'credentials-file: /home/u/.cloudflared/6ff42ae2.json',
      'ingress:',
      '- hostname: nb.example.com',
      'service: http://localhost:8888',
    ]),
  );
  assert.deepEqual(
    cf.map((a) => [a.rule, a.severity]),
    [['tunnel.config', 'critical']],
  );
  assert.match(cf[0]!.reason, /cloudflared tunnel config .* publishing `service: http:\/\/localhost:8888`/);
  const gost = alerts(
    config('/tmp/gost.yml', [
      'services:',
      '- name: s0',
      'addr: :2222',
      'handler:',
      'type: rtcp',
      'chains:',
      'hops:',
      'nodes:',
      'addr: 10.1.2.3:443',
      'forwarder:',
      'addr: 127.0.0.1:22',
    ]),
  );
  assert.deepEqual(
    gost.map((a) => [a.rule, a.severity]),
    [['tunnel.config', 'critical']],
  );
});

test('a training config with servers or ports but no tunnel raises nothing', () => {
  assert.deepEqual(
    alerts(
      config('/scratch/run/config.yaml', ['master_addr: 10.0.0.5', 'master_port: 29500', 'server: 10.0.0.7:8080']),
      config('/home/u/.ssh/config', ['Host gpu-*', 'ProxyJump bastion'], {
        argv: ['python3', 'x.py'],
        exe: '/usr/bin/python3',
        comm: 'python3',
      }),
    ),
    [],
  );
});
