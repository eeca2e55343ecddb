import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRows } from './result-format.js';

const r = {
  columns: [{ name: 'a' }, { name: 'b,c' }, { name: 'n' }],
  rows: [
    { a: 'plain', 'b,c': 'say "hi", then\nleave', n: 1 },
    { a: null, 'b,c': 'tab\there \\ back', n: [1, 2] },
  ],
};

test('csv: header, RFC 4180 quoting, null empty, arrays as JSON', () => {
  assert.equal(renderRows(r, 'csv', false), 'a,"b,c",n\nplain,"say ""hi"", then\nleave",1\n,tab\there \\ back,"[1,2]"');
});

test('tsv: header, TabSeparated escapes, null as \\N', () => {
  assert.equal(
    renderRows(r, 'tsv', false),
    'a\tb,c\tn\nplain\tsay "hi", then\\nleave\t1\n\\N\ttab\\there \\\\ back\t[1,2]',
  );
});

test('json: one array of rows in column order', () => {
  assert.deepEqual(JSON.parse(renderRows(r, 'json', false)), r.rows);
  assert.deepEqual(Object.keys(JSON.parse(renderRows(r, 'json', false))[0]), ['a', 'b,c', 'n']);
});

test('on a terminal, csv and tsv show what would rewrite it escaped; piped, they stay exact', () => {
  const hostile = { columns: [{ name: 'x' }], rows: [{ x: 'a\u001b]0;owned\u0007b\u202e' }] };
  assert.equal(renderRows(hostile, 'csv', true), 'x\na\\x1b]0;owned\\x07b\\u202e');
  assert.equal(renderRows(hostile, 'csv', false), 'x\na\u001b]0;owned\u0007b\u202e');
  assert.ok(!/\u001b/.test(renderRows(hostile, 'tsv', true)));
  assert.ok(!/\u001b/.test(renderRows(hostile, 'json', true)), 'JSON escapes controls itself');
});
