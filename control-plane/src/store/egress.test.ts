/**
 * conn events in the store: kept whole, selected by kind, their fields reachable by JSON path; and
 * the egress summary folds them per process and destination.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EgressFilter, type ConnEventV1, type EventV1 } from '@vigil/schema';
import { testStore } from './test-store.js';
import { insertEvents } from './event-insert.js';
import { EventFilter, queryEvents } from './event-queries.js';
import { egressSummary } from './egress.js';

const store = testStore('vigil-egress-');
const now = BigInt(Date.now()) * 1_000_000n;
const at = (s: number) => (now + BigInt(s) * 1_000_000_000n).toString();

function proc(pid: number, comm: string, job: string | null): EventV1['proc'] {
  return {
    pid,
    ppid: 1,
    uid: 1000,
    gid: 1000,
    comm,
    exe: `/usr/bin/${comm}`,
    argv: [comm],
    argvTruncated: false,
    cgroupId: 1,
    cgroup: '/',
    containerId: null,
    job,
    startTs: null,
    ancestry: [],
    ancestryTruncated: false,
  };
}

let n = 0;
function conn(
  p: EventV1['proc'],
  s: number,
  c: Partial<ConnEventV1['conn']> & Pick<ConnEventV1['conn'], 'event' | 'direction'>,
): ConnEventV1 {
  return {
    id: `conn-${++n}`,
    v: 1,
    host: 'h1',
    ts: at(s),
    kind: 'conn',
    proc: p,
    conn: {
      family: 'ipv4',
      local: { addr: '10.0.0.5', port: 0 },
      remote: { addr: '203.0.113.9', port: 443 },
      durationMs: null,
      totalDurationMs: null,
      count: 1,
      firstTs: at(s),
      lastTs: at(s),
      ...c,
    },
  };
}

const curl = proc(4242, 'curl', 'slurm:77');
const py = proc(5151, 'python3', null);
const events: ConnEventV1[] = [
  conn(curl, 0, { event: 'established', direction: 'out', local: { addr: '10.0.0.5', port: 40112 } }),
  conn(curl, 1, { event: 'close', direction: 'out', durationMs: 1500, totalDurationMs: 1500 }),
  // A window: 9 more connections, 8 of them closed, the longest held 2 s, 6 s in all.
  conn(curl, 2, { event: 'established', direction: 'out', count: 9, firstTs: at(1), lastTs: at(2) }),
  conn(curl, 3, { event: 'close', direction: 'out', count: 8, durationMs: 2000, totalDurationMs: 6000 }),
  conn(py, 4, { event: 'established', direction: 'out', remote: { addr: '127.0.0.1', port: 8080 } }),
  // Not egress: a listen and an accepted connection.
  conn(py, 5, { event: 'listen', direction: null, local: { addr: '0.0.0.0', port: 8000 } }),
  conn(py, 6, { event: 'established', direction: 'in', local: { addr: '10.0.0.5', port: 8000 } }),
];

test('conn events are stored whole, selected by kind, and queryable by JSON path', async () => {
  const { writer, reader } = store();
  await insertEvents(writer, events);
  const stored = await queryEvents(reader, EventFilter.parse({ kind: 'conn', limit: 100 }));
  assert.equal(stored.length, events.length);
  assert.deepEqual(
    stored.find((e) => e.id === events[3]!.id),
    events[3],
  );
  const rs = await reader.query({
    query: `SELECT JSONExtractString(event, 'conn', 'remote', 'addr') AS addr, sum(JSONExtractUInt(event, 'conn', 'count')) AS n
            FROM events WHERE kind = 'conn' AND JSONExtractString(event, 'conn', 'event') = 'established' GROUP BY addr ORDER BY addr`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [
    { addr: '127.0.0.1', n: 1 },
    { addr: '203.0.113.9', n: 11 },
  ]);
});

test('egress: per process and destination, connections, closes and how long they were held', async () => {
  const { reader } = store();
  const report = await egressSummary(reader, EgressFilter.parse({}));
  assert.equal(report.rowsTruncated, false);
  assert.deepEqual(
    report.rows.map((r) => ({ ...r, firstTs: undefined, lastTs: undefined })),
    [
      {
        host: 'h1',
        job: null,
        pid: 5151,
        comm: 'python3',
        exe: '/usr/bin/python3',
        family: 'ipv4',
        addr: '127.0.0.1',
        port: 8080,
        connections: 1,
        closed: 0,
        longestMs: null,
        totalMs: null,
        firstTs: undefined,
        lastTs: undefined,
      },
      {
        host: 'h1',
        job: 'slurm:77',
        pid: 4242,
        comm: 'curl',
        exe: '/usr/bin/curl',
        family: 'ipv4',
        addr: '203.0.113.9',
        port: 443,
        connections: 10,
        closed: 9,
        longestMs: 2000,
        totalMs: 7500,
        firstTs: undefined,
        lastTs: undefined,
      },
    ],
  );
  const curlRow = report.rows[1]!;
  assert.equal(curlRow.firstTs, at(0));
  assert.equal(curlRow.lastTs, at(3));

  const byJob = await egressSummary(reader, EgressFilter.parse({ job: 'slurm:77' }));
  assert.deepEqual(
    byJob.rows.map((r) => r.comm),
    ['curl'],
  );
  const cut = await egressSummary(reader, EgressFilter.parse({ limit: '1' }));
  assert.equal(cut.rows.length, 1);
  assert.equal(cut.rowsTruncated, true);
});
