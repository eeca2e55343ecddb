import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columnErrors } from './sql-check.js';

test("a SQL detection's result needs a String `host`; pid, evidence and reason, when present, of the types alerts read", () => {
  assert.deepEqual(
    columnErrors([
      { name: 'host', type: 'LowCardinality(String)' },
      { name: 'pid', type: 'UInt32' },
      { name: 'evidence', type: 'Array(String)' },
      { name: 'reason', type: 'String' },
    ]),
    [],
  );
  assert.deepEqual(
    columnErrors([
      { name: 'host', type: 'Nullable(String)' },
      { name: 'n', type: 'UInt64' },
    ]),
    [],
  );
  assert.deepEqual(columnErrors([{ name: 'pid', type: 'UInt32' }]), [
    'no `host` column: each row is an alert for the host it names (columns: pid)',
  ]);
  assert.deepEqual(columnErrors([]), ['no `host` column: each row is an alert for the host it names (columns: none)']);
  assert.deepEqual(
    columnErrors([
      { name: 'host', type: 'UInt8' },
      { name: 'pid', type: 'String' },
      { name: 'evidence', type: 'String' },
      { name: 'reason', type: 'UInt64' },
    ]),
    [
      '`host` is UInt8; it must be a String',
      '`pid` is String; it must be an integer',
      '`evidence` is String; it must be an Array of event ids',
      '`reason` is UInt64; it must be a String',
    ],
  );
});
