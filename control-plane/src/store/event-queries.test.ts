/**
 * The filters of `vigil events` on the real engine (chDB): what the stored events' WHERE selects is
 * exactly what the live stream's predicate (eventMatches) passes, for every filter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { testStore } from './test-store.js';
import { insertEvents } from './event-insert.js';
import { EventFilter, eventMatches, queryEvents } from './event-queries.js';

const store = testStore('vigil-event-queries-');
const NOW = BigInt(Date.now()) * 1_000_000n;
const at = (secondsAgo: number) => (NOW - BigInt(secondsAgo) * 1_000_000_000n).toString();

const proc = (pid: number, over: Partial<EventV1['proc']> = {}): EventV1['proc'] => ({
  pid,
  ppid: 1,
  uid: 1000,
  gid: 1000,
  comm: 'bash',
  exe: '/usr/bin/bash',
  argv: ['bash'],
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: null,
  startTs: null,
  ancestry: [],
  ancestryTruncated: false,
  ...over,
});
const exec = (id: string, secondsAgo: number, filename: string, ret: number | null, p = proc(10)): EventV1 => ({
  id,
  v: 1,
  host: 'h1',
  ts: at(secondsAgo),
  kind: 'exec',
  proc: p,
  exec: { filename, argv: ['python3', 'train.py'], argvTruncated: false, ret },
});

/** One execvp of python3 walking PATH: two ENOENTs, then the exec that worked; and the rest. */
const EVENTS: EventV1[] = [
  exec('enoent-1', 50, '/usr/local/sbin/python3', -2),
  exec('enoent-2', 49, '/usr/local/bin/python3', -2),
  exec('ok-1', 48, '/usr/bin/python3', 0),
  exec('eacces-1', 40, '/tmp/x/python3', -13, proc(11, { uid: 0, containerId: 'c0ffee1234567890', job: 'slurm:42' })),
  exec('unseen-ret', 30, '/usr/bin/env', null, proc(12, { job: 'slurm:42' })),
  {
    id: 'exit-1',
    v: 1,
    host: 'h2',
    ts: at(20),
    kind: 'exit',
    proc: proc(11, { uid: 0, containerId: 'c0ffee1234567890', exe: '/tmp/x/python3' }),
    exit: { code: 1, signal: null },
  },
  {
    id: 'conn-1',
    v: 1,
    host: 'h2',
    ts: at(10),
    kind: 'connect',
    proc: proc(13, { uid: 65534, comm: 'curl', exe: '/usr/bin/curl', job: 'k8s:ns/pod' }),
    connect: { family: 'ipv4', daddr: '10.0.0.1', dport: 443, ret: -111, count: 1, firstTs: at(10), lastTs: at(10) },
  },
];

let inserted: Promise<void> | null = null;
/** The store holds EVENTS (inserted by the first test that asks). */
const stored = () => (inserted ??= insertEvents(store().writer, EVENTS)).then(() => store().reader);

const ids = (events: EventV1[]) => events.map((e) => e.id).sort();
const FILTERS: Record<string, Record<string, string>> = {
  none: {},
  failed: { failed: 'true' },
  'not failed': { failed: 'false' },
  'failed execs of one uid': { failed: 'true', uid: '0' },
  job: { job: 'slurm:42' },
  'container by prefix': { container: 'c0ffee123456' },
  uid: { uid: '65534' },
  'exe: the file an exec tried': { exe: '/usr/local/bin/python3' },
  'exe: the process of an exit': { exe: '/tmp/x/python3' },
  until: { untilNs: at(45) },
  'since and until': { sinceNs: at(45), untilNs: at(15) },
  'kind and host': { kind: 'exec', host: 'h1' },
  'a value that is SQL': { comm: "bash' OR 1=1 --" },
};

for (const [name, query] of Object.entries(FILTERS)) {
  test(`filter ${name}: stored events selected = live events matched`, async () => {
    const f = EventFilter.parse(query);
    const selected = await queryEvents(await stored(), f);
    const live = EVENTS.filter((ev) => eventMatches(f, ev));
    assert.deepEqual(ids(selected), ids(live));
    if (!('comm' in query))
      assert.ok(
        (live.length > 0 && live.length < EVENTS.length) || name === 'none',
        'the filter selects some, not all',
      );
  });
}

test('failed: the execs that returned an error, every failed lookup its own row with the file it tried', async () => {
  const failed = await queryEvents(await stored(), EventFilter.parse({ failed: 'true' }));
  assert.deepEqual(failed.map((e) => e.kind === 'exec' && [e.exec.filename, e.exec.ret]).sort(), [
    ['/tmp/x/python3', -13],
    ['/usr/local/bin/python3', -2],
    ['/usr/local/sbin/python3', -2],
  ]);
  const rest = await queryEvents(await stored(), EventFilter.parse({ failed: 'false' }));
  assert.deepEqual(
    ids(rest),
    ['conn-1', 'exit-1', 'ok-1', 'unseen-ret'],
    'an exec whose return was not seen is not counted failed',
  );
});

test('bad filter values are refused by the schema, not sent to the engine', () => {
  for (const bad of [
    { uid: '-1' },
    { failed: 'maybe' },
    { untilNs: '99999999999999999999' },
    { container: "x' OR '1'='1" },
    { untilNs: '1e9' },
  ]) {
    assert.equal(EventFilter.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
