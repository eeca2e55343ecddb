/**
 * The columns of `events` as the table derives them from the event JSON alone (migrations 0004-0005),
 * on the real engine (chDB): real sensor events of every kind, hostile strings, and values the column
 * types cannot hold, which must neither fail the insert nor lose the event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventV1, nowNs } from '@vigil/schema';
import { testStore } from './test-store.js';
import { eventLine, insertEvents } from './event-insert.js';
import { EVENTS_KEPT_DAYS, storedAtClaimedTime } from './claimed-time.js';

const store = testStore('vigil-event-insert-');

/** Recorded on an H100 (exec, exit, gpu); moved to now, or the table's 30-day TTL would drop them. */
const recorded = readFileSync(
  fileURLToPath(new URL('../../../test/fixtures/sensor-h100.events.ndjson', import.meta.url)),
  'utf8',
)
  .trim()
  .split('\n')
  .map((l) => EventV1.parse(JSON.parse(l)));
const shift = BigInt(nowNs()) - BigInt(recorded[0]!.ts);
const real = recorded.map((ev) => ({ ...ev, ts: (BigInt(ev.ts) + shift).toString() }));
const exec = real.find((e): e is Extract<EventV1, { kind: 'exec' }> => e.kind === 'exec')!;

const connect: EventV1 = {
  id: 'connect-1',
  v: 1,
  host: 'h100',
  ts: nowNs(),
  kind: 'connect',
  proc: { ...exec.proc, containerId: 'c0ffee', job: 'slurm:4242' },
  connect: {
    family: 'ipv6',
    daddr: '2001:db8::7',
    dport: 3333,
    ret: null,
    count: 41,
    firstTs: nowNs(),
    lastTs: nowNs(),
  },
};
const HOSTILE = [
  'quo"te',
  "it's",
  'back\\slash',
  'line\nbreak',
  'tab\there',
  '\u2028\u2029',
  'nul\u0000byte',
  'emoji 😀',
  '\ufffd',
  '%s%n{0}',
  '\\ud800 (text, not a surrogate)',
];
const hostile: EventV1 = {
  ...exec,
  id: 'hostile-1',
  ts: nowNs(),
  exec: { ...exec.exec, filename: '/tmp/x "y"\n', argv: HOSTILE },
};

/** What each column holds for an event: the contract the table's defaults implement. */
function columns(ev: EventV1) {
  return {
    id: ev.id,
    host: ev.host,
    ts_ns: ev.ts,
    kind: ev.kind,
    pid: ev.proc.pid,
    ppid: ev.proc.ppid,
    uid: ev.proc.uid,
    comm: ev.proc.comm,
    exe: ev.kind === 'exec' ? ev.exec.filename : ev.proc.exe,
    argv: ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv,
    container_id: ev.proc.containerId ?? '',
    job: ev.proc.job ?? '',
    daddr: ev.kind === 'connect' ? ev.connect.daddr : '',
    dport: ev.kind === 'connect' ? ev.connect.dport : 0,
    gpu_device: ev.kind === 'gpu' ? ev.gpu.device : '',
    gpu_ioctl: ev.kind === 'gpu' ? ev.gpu.name : '',
    gpu_class: ev.kind === 'gpu' ? (ev.gpu.rmClass ?? 0) : 0,
    event_count: ev.kind === 'connect' ? ev.connect.count : ev.kind === 'gpu' ? ev.gpu.count : 1,
  };
}

async function stored(ids: string[]) {
  const rs = await store().reader.query({
    query: `SELECT id, host, toString(toUnixTimestamp64Nano(ts)) AS ts_ns, kind, pid, ppid, uid, comm, exe, argv, container_id, job,
                   daddr, dport, gpu_device, gpu_ioctl, gpu_class, event_count, event
            FROM events WHERE id IN {ids:Array(String)} ORDER BY id`,
    query_params: { ids },
    format: 'JSONEachRow',
  });
  return rs.json<ReturnType<typeof columns> & { event: string }>();
}

test('every column is derived from the event JSON alone, for real events of every kind and hostile strings', async () => {
  const events = [...real, connect, hostile];
  assert.deepEqual(new Set(events.map((e) => e.kind)), new Set(['exec', 'exit', 'gpu', 'connect']));
  await insertEvents(store().writer, events);
  const rows = await stored(events.map((e) => e.id));
  assert.equal(rows.length, events.length);
  const byId = new Map(events.map((e) => [e.id, e]));
  for (const { event, ...row } of rows) {
    const ev = byId.get(row.id)!;
    assert.deepEqual(
      {
        ...row,
        pid: Number(row.pid),
        ppid: Number(row.ppid),
        uid: Number(row.uid),
        dport: Number(row.dport),
        gpu_class: Number(row.gpu_class),
        event_count: Number(row.event_count),
      },
      columns(ev),
      `columns of ${ev.kind} ${ev.id}`,
    );
    assert.deepEqual(JSON.parse(event), ev, 'the event kept exactly');
  }
  assert.ok(
    real.some((e) => e.kind === 'gpu' && e.gpu.rmClass !== null),
    'a GPU call with an RM class among them',
  );
});

test('a lone surrogate (a hostile producer) becomes U+FFFD in storage instead of emptying the row', async () => {
  const ev: EventV1 = {
    ...exec,
    id: 'surrogate-1',
    ts: nowNs(),
    exec: { ...exec.exec, argv: ['a\ud800b', '\udfff', 'ok 😀'] },
  };
  assert.match(JSON.stringify(ev), /\\ud800/);
  assert.doesNotMatch(eventLine(ev), /\\ud[89a-f]/);
  await insertEvents(store().writer, [ev]);
  const [row] = await stored([ev.id]);
  assert.equal(row?.kind, 'exec');
  assert.deepEqual(row?.argv, ['a\ufffdb', '\ufffd', 'ok 😀']);
});

test('values the column types cannot hold are stored, not refused: the insert (and every event behind it) goes through', async () => {
  const gpu = real.find((e): e is Extract<EventV1, { kind: 'gpu' }> => e.kind === 'gpu')!;
  // Schema-valid: rmClass is any non-negative integer, ts any 20 digits; UInt32 and Int64 ns hold neither.
  const odd: EventV1 = {
    ...gpu,
    id: 'odd-1',
    ts: '99999999999999999999',
    gpu: { ...gpu.gpu, rmClass: 2 ** 40, count: 2 ** 33 },
  };
  const next: EventV1 = { ...exec, id: 'odd-2', ts: nowNs() };
  const before = BigInt(nowNs());
  await insertEvents(store().writer, [odd, next]);
  const afterInsert = BigInt(nowNs()) + 1_000_000n;
  const rows = await stored([odd.id, next.id]);
  assert.deepEqual(
    rows.map((r) => r.id),
    [odd.id, next.id],
  );
  const [o] = rows;
  assert.equal(Number(o!.gpu_class), 0, 'out of UInt32: the default');
  assert.equal(Number(o!.event_count), 0);
  const ts = BigInt(o!.ts_ns);
  assert.ok(ts >= before && ts <= afterInsert, `a ts past Int64 takes the insert time, not a wrapped value (${ts})`);
  assert.deepEqual(JSON.parse(o!.event), odd, 'the event itself kept exactly');
});

test('a claimed time outside what the table keeps is stored at the insert time: not dropped by the TTL, and no insert spans too many partitions', async () => {
  const DAY = 86_400_000_000_000n;
  const now = BigInt(nowNs());
  const at = (id: string, ts: bigint | string): EventV1 => ({ ...exec, id, ts: ts.toString() });
  const claims = [
    at('clock-28d-ago', now - 28n * DAY),
    at('clock-12h-ahead', now + DAY / 2n),
    // A host clock reset to the epoch, one a month behind, one two days ahead: each was dropped by the
    // 30-day TTL as it was written (the first two) or stored where it claimed.
    at('clock-zero', '0'),
    at('clock-31d-ago', now - 31n * DAY),
    at('clock-2d-ahead', now + 2n * DAY),
  ];
  // 150 different days in one insert: more than ClickHouse writes in one (max_partitions_per_insert_block,
  // 100), which failed the insert, retried without end.
  const spread = Array.from({ length: 150 }, (_, i) => at(`clock-spread-${i}`, now - BigInt(i) * DAY - 1_000_000n));
  const events = [...claims, ...spread];
  const before = BigInt(nowNs());
  await insertEvents(store().writer, events);
  const afterInsert = BigInt(nowNs()) + 1_000_000n;
  const rows = new Map((await stored(events.map((e) => e.id))).map((r) => [r.id, r]));
  assert.equal(rows.size, events.length, 'every event stored');
  const kept = new Set<string>();
  for (const ev of events) {
    const row = rows.get(ev.id)!;
    assert.deepEqual(JSON.parse(row.event), ev, 'the event keeps the time it claimed');
    const ts = BigInt(row.ts_ns);
    if (ts === BigInt(ev.ts)) kept.add(ev.id);
    else assert.ok(ts >= before && ts <= afterInsert, `${ev.id}: the insert time (${ts})`);
    assert.equal(
      kept.has(ev.id),
      storedAtClaimedTime(ev.ts, EVENTS_KEPT_DAYS, Number(before / 1_000_000n)),
      `${ev.id}: the table and storedAtClaimedTime agree`,
    );
  }
  assert.ok(
    kept.has('clock-28d-ago') &&
      kept.has('clock-12h-ahead') &&
      kept.has('clock-spread-0') &&
      kept.has('clock-spread-28'),
  );
  for (const id of ['clock-zero', 'clock-31d-ago', 'clock-2d-ahead', 'clock-spread-29', 'clock-spread-149'])
    assert.ok(!kept.has(id), `${id} retimed`);
});
