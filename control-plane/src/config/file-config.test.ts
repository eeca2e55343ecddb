import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { VigilConfigV1 } from '@vigil/schema';
import { FileConfig } from './file-config.js';
import { ConfigFileError, parseConfigText } from './parse.js';

const EXAMPLE = fileURLToPath(new URL('../../../deploy/vigil.example.yaml', import.meta.url));
const silent = pino({ level: 'silent' });

const problem = (text: string, file = '/etc/vigil/vigil.yaml'): ConfigFileError => {
  try {
    parseConfigText(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigFileError, String(err));
    return err;
  }
  assert.fail('accepted');
};

test('deploy/vigil.example.yaml parses, with its relative paths read beside it', () => {
  const cfg = parseConfigText(readFileSync(EXAMPLE, 'utf8'), '/etc/vigil/vigil.yaml');
  assert.equal(cfg.suppressions.length, 3);
  assert.equal(cfg.responses.mode, 'dry-run');
  assert.deepEqual(cfg.detections, ['/etc/vigil/detections']);
  const file = cfg.outputs.find((o) => o.type === 'file');
  assert.equal(file?.path, '/etc/vigil/alerts.jsonl');
  const hook = cfg.outputs.find((o) => o.type === 'webhook');
  assert.equal(hook?.secretFile, '/etc/vigil/secrets/soc-hmac');
});

test('an error names the file, the path inside it, the rule and the line', () => {
  const e = problem(
    [
      'outputs:',
      '  - type: file',
      '    name: a',
      '    path: x.jsonl',
      '  - type: webhook',
      '    name: b',
      '    url: ftp://nope',
    ].join('\n'),
  );
  assert.equal(e.problems.length, 1);
  assert.deepEqual({ ...e.problems[0], rule: undefined }, { path: 'outputs[1].url', line: 7, rule: undefined });
  assert.match(e.message, /^\/etc\/vigil\/vigil\.yaml: line 7: outputs\[1\]\.url: /);
  assert.match(e.problems[0]!.rule, /URL/i);
});

test('an unknown key is named with its line', () => {
  const e = problem('incidents:\n  window: 10m\n  windwo: 5m\n');
  assert.deepEqual(
    e.problems.map((p) => [p.path, p.line]),
    [['incidents.windwo', 3]],
  );
  assert.match(e.message, /Unrecognized key/i);
});

test('a suppression without a condition, with a bad pattern, or naming an unknown user', () => {
  const noCondition = problem('suppressions:\n  - rule: miner.exec\n    reason: lab\n');
  assert.match(noCondition.message, /suppressions\[0\]: a suppression needs at least one condition/);
  const pattern = problem('suppressions:\n  - rule: x\n    reason: r\n    hosts: [h]\n    cmdline: "(unclosed"\n');
  assert.deepEqual(
    pattern.problems.map((p) => [p.path, p.line, p.rule]),
    [['suppressions[0].cmdline', 5, 'not a valid regular expression']],
  );
  const user = problem('suppressions:\n  - rule: x\n    reason: r\n    user: [root, no-such-user-here]\n');
  assert.deepEqual(
    user.problems.map((p) => [p.path, p.line]),
    [['suppressions[0].user[1]', 4]],
  );
  assert.match(user.message, /no user "no-such-user-here"/);
});

test('YAML that does not parse is named with its line', () => {
  const e = problem('outputs:\n  - type: file\n   name: [\n');
  assert.ok(e.problems[0]!.line !== null);
  assert.match(e.message, /^\/etc\/vigil\/vigil\.yaml: line \d+: not YAML/);
});

test('an empty file is the defaults', () => {
  const cfg = parseConfigText('', '/x/vigil.yaml');
  assert.deepEqual(cfg.suppressions, []);
  assert.equal(cfg.incidents.window, '30m');
});

test('load: a missing or invalid file is a ConfigFileError naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cfg-'));
  await assert.rejects(FileConfig.load(join(dir, 'nope.yaml'), silent), (e: Error) => {
    assert.ok(e instanceof ConfigFileError);
    assert.match(e.message, /nope\.yaml: .*ENOENT/);
    return true;
  });
  writeFileSync(join(dir, 'bad.yaml'), 'responses:\n  mode: yolo\n');
  await assert.rejects(FileConfig.load(join(dir, 'bad.yaml'), silent), /bad\.yaml: line 2: responses\.mode: /);
});

test('reload: a valid change applies and is counted; an invalid one keeps the previous version and tells why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cfg-'));
  const file = join(dir, 'vigil.yaml');
  const one = 'suppressions:\n  - rule: miner.exec\n    reason: lab\n    hosts: [gpu-01]\n';
  writeFileSync(file, one);
  const cfg = await FileConfig.load(file, silent);
  const changes: VigilConfigV1[] = [];
  cfg.on('change', (next) => changes.push(next));

  writeFileSync(file, 'suppressions:\n  - rule: miner.exec\n    reason: lab\n');
  await cfg.reload();
  assert.equal(changes.length, 0);
  assert.equal(cfg.current().suppressions.length, 1);
  assert.match(cfg.status().lastError ?? '', /vigil\.yaml: line 2: suppressions\[0\]: a suppression needs/);
  assert.equal(cfg.status().reloads, 0);

  writeFileSync(file, 'incidents:\n  window: 5m\n');
  await cfg.reload();
  assert.equal(changes.length, 1);
  assert.equal(cfg.current().suppressions.length, 0);
  assert.equal(cfg.current().incidents.window, '5m');
  assert.deepEqual({ ...cfg.status(), loadedTs: null }, { path: file, loadedTs: null, reloads: 1, lastError: null });

  // The same text again changes nothing.
  await cfg.reload();
  assert.equal(changes.length, 1);
});

test('watch: a change on disk is reloaded, a file replaced by rename included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cfg-'));
  const file = join(dir, 'vigil.yaml');
  writeFileSync(file, 'incidents:\n  window: 1m\n');
  const cfg = await FileConfig.load(file, silent);
  const stop = cfg.watch();
  try {
    const changed = new Promise<VigilConfigV1>((resolve) => cfg.once('change', resolve));
    writeFileSync(join(dir, 'vigil.yaml.new'), 'incidents:\n  window: 2m\n');
    const { renameSync } = await import('node:fs');
    renameSync(join(dir, 'vigil.yaml.new'), file);
    assert.equal((await changed).incidents.window, '2m');
  } finally {
    stop();
  }
});

test('tls: its files are read beside the file; clientAuth needs the CA', () => {
  const cfg = parseConfigText(
    'listen: 0.0.0.0\ntls:\n  cert: tls/server.pem\n  key: /etc/vigil/tls/server-key.pem\n  ca: tls/ca.pem\n',
    '/etc/vigil/vigil.yaml',
  );
  assert.equal(cfg.listen, '0.0.0.0');
  assert.deepEqual(cfg.tls, {
    cert: '/etc/vigil/tls/server.pem',
    key: '/etc/vigil/tls/server-key.pem',
    ca: '/etc/vigil/tls/ca.pem',
    clientAuth: false,
  });
  assert.match(
    problem('tls:\n  cert: a.pem\n  key: b.pem\n  clientAuth: true\n').message,
    /tls\.ca: clientAuth needs ca/,
  );
  assert.match(problem('tls:\n  cert: a.pem\n').message, /tls\.key/);
});
