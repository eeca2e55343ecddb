import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractDirectives, MAX_DIRECTIVES, MAX_DIRECTIVE_CHARS, REDACTED } from './config-lines.js';

test('ssh_config: forwards, proxies and hosts are kept, the rest dropped', () => {
  const text = `# comment RemoteForward 1
Host jump
  HostName 203.0.113.7
  User alice
  IdentityFile ~/.ssh/id
  RemoteForward 8080 localhost:22
  ProxyCommand nc -X 5 -x proxy:1080 %h %p
  ServerAliveInterval 30
`;
  assert.deepEqual(extractDirectives(text), {
    directives: [
      'Host jump',
      'HostName 203.0.113.7',
      'User alice',
      'RemoteForward 8080 localhost:22',
      'ProxyCommand nc -X 5 -x proxy:1080 %h %p',
    ],
    truncated: false,
  });
});

test('frp TOML and INI, xmrig JSON (one line or many), cloudflared YAML', () => {
  const frp = `serverAddr = "198.51.100.2"\nserverPort = 7000\nauth.token = "s3cret"\n[[proxies]]\nname = "ssh"\ntype = "tcp"\nlocalIP = "127.0.0.1"\nlocalPort = 22\nremotePort = 6000\nlog.level = "info"`;
  assert.deepEqual(extractDirectives(frp).directives, [
    'serverAddr = "198.51.100.2"',
    'serverPort = 7000',
    `auth.token = ${REDACTED}`,
    '[[proxies]]',
    'type = "tcp"',
    'localIP = "127.0.0.1"',
    'localPort = 22',
    'remotePort = 6000',
  ]);
  const ini = `[common]\nserver_addr = 1.2.3.4\nserver_port = 7000\ntoken = abc\n[web]\nremote_port = 8080`;
  assert.deepEqual(extractDirectives(ini).directives, [
    '[common]',
    'server_addr = 1.2.3.4',
    'server_port = 7000',
    `token = ${REDACTED}`,
    '[web]',
    'remote_port = 8080',
  ]);
  assert.deepEqual(extractDirectives('{"autosave":true,"pools":[{"url":"127.0.0.1:3333"}]}').directives, [
    '{"autosave":true,"pools":[{"url":"127.0.0.1:3333"}]}',
  ]);
  const xmrig = `{\n  "cpu": false,\n  "cuda": {"enabled": true},\n  "pools": [\n    {\n      "url": "stratum+tcp://w:hunter2@pool.example:3333",\n      "user": "44AFFq5kSiGBoZ",\n      "pass": "x"\n    }\n  ]\n}`;
  assert.deepEqual(extractDirectives(xmrig).directives, [
    '"cuda": {"enabled": true},',
    '"pools": [',
    `"url": "stratum+tcp://w:${REDACTED}@pool.example:3333",`,
    '"user": "44AFFq5kSiGBoZ",',
    `"pass": ${REDACTED}`,
  ]);
  const cf = `tunnel: 6ff42ae2\ncredentials-file: /root/.cloudflared/x.json\ningress:\n  - hostname: a.example.com\n    service: ssh://localhost:22\n  - service: http_status:404\nauthtoken: 2abc`;
  assert.deepEqual(extractDirectives(cf).directives, [
    'tunnel: 6ff42ae2',
    'credentials-file: /root/.cloudflared/x.json',
    'ingress:',
    '- hostname: a.example.com',
    'service: ssh://localhost:22',
    '- service: http_status:404',
    `authtoken: ${REDACTED}`,
  ]);
});

test('NULs and control bytes become spaces; a 100k-character line is cut to 256 with its secret already redacted', () => {
  const nul = extractDirectives('\0\0RemoteForward 1 h:22\0\nRemoteForward\u001b[2J 9 h:22\nab\0cd\n\0\0\0');
  assert.deepEqual(nul.directives, ['RemoteForward 1 h:22', 'RemoteForward [2J 9 h:22']);
  const long = extractDirectives(`password = ${'p'.repeat(100_000)}\nurl = ${'u'.repeat(100_000)}`);
  assert.deepEqual(long.directives[0], `password = ${REDACTED}`);
  assert.equal(long.directives[1]!.length, MAX_DIRECTIVE_CHARS);
});

test('10k lines of interest keep the first 64 and say truncated', () => {
  const r = extractDirectives(Array.from({ length: 10_000 }, (_, i) => `RemoteForward ${i} h:22`).join('\n'));
  assert.equal(r.directives.length, MAX_DIRECTIVES);
  assert.equal(r.directives[63], 'RemoteForward 63 h:22');
  assert.equal(r.truncated, true);
});

test('keys are matched as keys: a word inside a value or a longer key is not one', () => {
  assert.deepEqual(
    extractDirectives('description = the url of the docs\nhostnames_seen = 3\nPortable yes').directives,
    [],
  );
});
