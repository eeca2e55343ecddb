/**
 * Property-based tests: whatever bytes an attacker puts in argv, and whatever a broken or hostile
 * line looks like, decoding never throws past its named error, never forges a field, and keeps text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BpftraceLineError, parseBpftraceLine } from './bpftrace-output.js';
import { decodeExec } from './exec.js';
import { decodeConnect, formatAddress } from './connect.js';
import { PROBES } from '../probes/registry.js';
import { bytesToText } from '../host/text.js';

/** How bpftrace 0.17 prints one string argument: JSON escapes, bytes >= 0x80 as \uffffffXX. */
function bpftraceString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x09) out += '\\t';
    else if (b < 0x20 || b === 0x7f) out += `\\u${b.toString(16).padStart(4, '0')}`;
    else if (b >= 0x80) out += `\\uffffff${b.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

const argBytes = fc.uint8Array({ minLength: 0, maxLength: 199 }).map((a) => a.filter((b) => b !== 0));

test('any argv bytes decode to exactly one field, equal to what procfs decoding of the same bytes gives', () => {
  fc.assert(
    fc.property(argBytes, fc.nat(31), (bytes, idx) => {
      const line = `{"type": "value", "data": [1,123,4242,${idx},${bpftraceString(bytes)}]}`;
      const out = parseBpftraceLine(line);
      const d = decodeExec(out.data as unknown[]);
      assert.ok(d.success);
      assert.equal(d.data.type, 'exec.arg');
      if (d.data.type === 'exec.arg') {
        assert.equal(d.data.pid, 4242, 'no byte sequence moves a field');
        assert.equal(d.data.idx, idx);
        assert.equal(d.data.arg, bytesToText(Buffer.from(bytes)));
      }
    }),
    { numRuns: 2000 },
  );
});

test('valid UTF-8 text survives bpftrace byte escaping unchanged', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      const bytes = new Uint8Array(Buffer.from(s, 'utf8')).filter((b) => b !== 0);
      const text = Buffer.from(bytes).toString('utf8');
      const out = parseBpftraceLine(`{"type": "value", "data": [${bpftraceString(bytes)}]}`);
      assert.equal((out.data as unknown[])[0], text);
    }),
    { numRuns: 1000 },
  );
});

test('arbitrary lines never throw anything but BpftraceLineError, and never crash a decoder', () => {
  const decoders = Object.values(PROBES).map((p) => p.decode);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify({ type: 'value', data: v })),
        fc.array(fc.jsonValue()).map((data) => JSON.stringify({ type: 'value', data })),
      ),
      (line) => {
        let out: ReturnType<typeof parseBpftraceLine>;
        try {
          out = parseBpftraceLine(line);
        } catch (err) {
          assert.ok(err instanceof BpftraceLineError, String(err));
          return;
        }
        if (out.type === 'value' && Array.isArray(out.data))
          for (const decode of decoders) decode(out.data as unknown[]);
      },
    ),
    { numRuns: 3000 },
  );
});

test('connect records: any address words format to a parseable address; ports stay in range', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(2 as const, 10 as const),
      fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)),
      fc.nat(65535),
      (fam, words, port) => {
        const d = decodeConnect([20, 1, 1, 1, 0, 0, 'x', fam, port, ...words, 0]);
        assert.ok(d.success);
        if (fam === 2) assert.match(formatAddress(fam, words), /^\d{1,3}(\.\d{1,3}){3}$/);
        else
          assert.ok(new URL(`http://[${formatAddress(fam, words)}]/`).hostname.length > 2, formatAddress(fam, words));
      },
    ),
    { numRuns: 2000 },
  );
});
