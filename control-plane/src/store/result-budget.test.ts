/** Reading a result within its row and byte bounds, whatever the chunks' boundaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBudgeted } from './result-budget.js';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}
const doc = '["n","s"]\n["UInt8","String"]\n[1,"a\\nb"]\n[2,"c"]\n';

test('lines split anywhere across chunks come back whole', async () => {
  for (let cut = 1; cut < doc.length; cut++) {
    const r = await readBudgeted(chunks(doc.slice(0, cut), doc.slice(cut)), 100, 1024);
    assert.deepEqual(
      r.rows,
      [
        { n: 1, s: 'a\nb' },
        { n: 2, s: 'c' },
      ],
      `cut at ${cut}`,
    );
    assert.deepEqual(r.columns, [
      { name: 'n', type: 'UInt8' },
      { name: 's', type: 'String' },
    ]);
    assert.equal(r.cut, null);
  }
});

test('the row bound and the byte bound cut and say which', async () => {
  const rows = await readBudgeted(chunks(doc), 1, 1024);
  assert.deepEqual(rows.rows, [{ n: 1, s: 'a\nb' }]);
  assert.deepEqual(rows.cut, { by: 'rows', limit: 1 });
  assert.equal(rows.rowsTruncated, true);
  const bytes = await readBudgeted(chunks(doc), 100, 30);
  assert.deepEqual(bytes.rows, [], 'the header takes 27 bytes, the first row would pass 30');
  assert.deepEqual(bytes.cut, { by: 'bytes', limit: 30 });
});

test('a line longer than the budget is not held whole: reading stops while it streams', async () => {
  let pulled = 0;
  async function* endless(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('["s"]\n["String"]\n["');
    for (;;) {
      pulled++;
      yield Buffer.alloc(1024, 'x');
    }
  }
  const r = await readBudgeted(endless(), 100, 10 * 1024);
  assert.deepEqual(r.cut, { by: 'bytes', limit: 10 * 1024 });
  assert.ok(pulled <= 11, `${pulled} chunks read`);
});

test('chunks that each repeat the header (the embedded stream) read it once', async () => {
  const r = await readBudgeted(
    chunks('["n"]\n["UInt8"]\n[1]\n', '["n"]\n["UInt8"]\n[2]\n', '["n"]\n["UInt8"]\n'),
    100,
    1024,
    true,
  );
  assert.deepEqual(r.rows, [{ n: 1 }, { n: 2 }]);
});

test('output that is not a JSON array a line is a clear error', async () => {
  await assert.rejects(readBudgeted(chunks('1\tx\n'), 10, 1024), /not one JSON array a line/);
});
