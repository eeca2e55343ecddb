import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LogFormatError, logFormat, prettyStream } from './logger.js';

test('log format: the flag, else VIGIL_LOG_FORMAT, else readable on a terminal and JSON elsewhere', () => {
  assert.equal(logFormat(undefined, undefined, true), 'pretty');
  assert.equal(logFormat(undefined, undefined, false), 'json');
  assert.equal(logFormat(undefined, '', false), 'json');
  assert.equal(logFormat(undefined, 'pretty', false), 'pretty');
  assert.equal(logFormat('json', 'pretty', true), 'json');
  assert.throws(() => logFormat(undefined, 'xml', true), LogFormatError);
});

test('pretty lines are readable, one a record, and escape what the workload wrote', () => {
  const out: string[] = [];
  const log = pino({ base: { app: 'vigil' } }, prettyStream({ write: (s) => out.push(s) }, false)).child({
    component: 'sensor',
  });
  log.info({ argv: ['curl', 'evil\u001b[2J\u202etxt.exe'] }, 'probe ready');
  log.warn('host \u001b]0;pwned\u0007 says hi');
  log.error({ err: new Error('boom') }, 'failed');
  const text = out.join('');
  assert.doesNotMatch(text, /"level"/, 'not JSON');
  assert.match(out[0]!, /INFO.*probe ready/);
  assert.ok(
    !/[\u001b\u0007\u202e]/.test(text),
    `a control or bidi character reached the terminal: ${JSON.stringify(text)}`,
  );
  assert.match(text, /evil\\x1b\[2J\\u202etxt\.exe/);
  assert.match(out[1]!, /WARN.*host \\x1b\]0;pwned\\x07 says hi/);
  assert.match(out[2]!, /ERROR.*failed[\s\S]*Error: boom\n\s+at /, 'a stack keeps its lines');
});
