import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpftraceLineError, parseBpftraceLine, parseNumericMapKey, restoreBytes } from './bpftrace-output.js';

const value = (line: string) => parseBpftraceLine(line).data as unknown[];

test("bpftrace 0.17's broken byte escapes become UTF-8 text or \\xNN, never U+FFFF", () => {
  assert.deepEqual(value('{"type": "value", "data": [1,"caf\\uffffffc3\\uffffffa9"]}'), [1, 'café']);
  assert.deepEqual(value('{"type": "value", "data": [1,"\\uffffffff\\ufffffffeok"]}'), [1, '\\xff\\xfeok']);
  // a valid sequence followed by a stray continuation byte
  assert.deepEqual(value('{"type": "value", "data": ["\\uffffffc3\\uffffffa9\\uffffffa9"]}'), ['é\\xa9']);
});

test('text that merely looks like the broken escape is left alone', () => {
  // An argument holding the six characters \uffffffff arrives with its backslash escaped.
  assert.deepEqual(value('{"type": "value", "data": ["\\\\uffffffff"]}'), ['\\uffffffff']);
  assert.deepEqual(value('{"type": "value", "data": ["\\\\\\uffffffc3\\uffffffa9"]}'), ['\\é']);
});

test('quotes, braces and newlines stay inside their field', () => {
  const v = value(String.raw`{"type": "value", "data": [1,2,"\"], \"forged\": [1","x\ny"]}`);
  assert.deepEqual(v, [1, 2, '"], "forged": [1', 'x\ny']);
});

test('lines that are not bpftrace JSON raise a named error with a reason', () => {
  assert.throws(
    () => parseBpftraceLine('Attaching 3 probes...'),
    (e: unknown) => e instanceof BpftraceLineError && e.reason === 'json',
  );
  assert.throws(
    () => parseBpftraceLine('{"no": "type"}'),
    (e: unknown) => e instanceof BpftraceLineError && e.reason === 'shape',
  );
  assert.equal(parseBpftraceLine('{"type": "lost_events", "data": {"events": 12}}').type, 'lost_events');
  assert.equal(parseBpftraceLine('{"type": "printf", "data": "hello"}').type, 'printf');
  // A known type with the wrong shape is an error, not an unknown line passed along as if it fitted.
  const shape = (e: unknown) => e instanceof BpftraceLineError && e.reason === 'shape';
  assert.throws(() => parseBpftraceLine('{"type": "map", "data": {"@exec_head0": "text"}}'), shape);
  assert.throws(() => parseBpftraceLine('{"type": "map", "data": {"@exec_head0": [1, 2]}}'), shape);
  assert.throws(() => parseBpftraceLine('{"type": "value", "data": {"not": "a tuple"}}'), shape);
  assert.throws(() => parseBpftraceLine('{"type": "lost_events", "data": {"events": "many"}}'), shape);
  assert.equal(parseBpftraceLine('{"type": "map", "data": {"@n": 3, "@m": {"1,2": [1, "x"]}}}').type, 'map');
});

test('map keys: integers only, exact arity', () => {
  assert.deepEqual(parseNumericMapKey('1,2,3', 3), [1, 2, 3]);
  assert.equal(parseNumericMapKey('1,2', 3), null);
  assert.equal(parseNumericMapKey('1,x,3', 3), null);
  assert.deepEqual(parseNumericMapKey('4242, -2, 19087629557595', 3), [4242, -2, 19087629557595]);
  for (const bad of [
    '1,,3',
    ',2,3',
    '1,2,',
    '0x10,2,3',
    '1e3,2,3',
    '--1,2,3',
    '1-,2,3',
    '1,2,3 ',
    '9007199254740993,1,1',
  ]) {
    assert.equal(parseNumericMapKey(bad, 3), null, bad);
  }
  assert.equal(restoreBytes('plain'), 'plain');
});
