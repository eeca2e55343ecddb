import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSyslog, parseAddress, sdEscape } from './syslog.js';
import { alertMessage, incidentMessage } from './testing.js';

const AT = new Date('2026-12-06T16:30:00.123Z');
const cfg = { facility: 'authpriv', appName: 'vigil' } as const;

test('an alert as RFC 5424: PRI from facility and severity, host, kind, structured data, the story', () => {
  assert.equal(
    formatSyslog(alertMessage(), cfg, AT),
    '<82>1 2026-12-06T16:30:00.123Z gpu-1 vigil - alert [vigil@32473 id="a-1" severity="critical" rule="miner.exec" host="gpu-1"] Crypto miner started: stratum+tcp pool in argv',
  );
});

test('an incident carries its rules and version; severities map to syslog ones', () => {
  const line = formatSyslog(incidentMessage({ version: 4, severity: 'medium' }), { ...cfg, facility: 'local0' }, AT);
  assert.match(line, /^<132>1 /, 'local0 (16) * 8 + warning (4)');
  assert.match(
    line,
    / incident \[vigil@32473 id="inc-1" severity="medium" rule="miner.exec,shell.reverse" host="gpu-1" version="4"\] /,
  );
});

test('structured data escapes ", \\ and ]; control characters never break the line', () => {
  assert.equal(sdEscape('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  const line = formatSyslog(
    alertMessage({ ruleId: 'x"]y', title: 'evil\nfake line', reason: 'r\r\n<13>1 forged' }),
    cfg,
    AT,
  );
  assert.ok(!/[\r\n]/.test(line));
  assert.match(line, /rule="x\\"\\]y"/);
});

test('a long story is cut to 8 KiB in all', () => {
  const line = formatSyslog(alertMessage({ reason: 'é'.repeat(10_000) }), cfg, AT);
  assert.ok(Buffer.byteLength(line) <= 8192);
  assert.ok(Buffer.byteLength(line) > 8000);
});

test('addresses: host:port and [v6]:port; anything else refused', () => {
  assert.deepEqual(parseAddress('127.0.0.1:514'), { host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseAddress('[::1]:6514'), { host: '::1', port: 6514 });
  assert.throws(() => parseAddress('localhost'), /not host:port/);
  assert.throws(() => parseAddress('h:70000'), /not host:port/);
});
