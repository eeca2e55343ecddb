/**
 * DNS events in the store: kept whole (the answers come back as they went in), selected by kind, and
 * queryable by JSON path (qname, the connect's hostname) with no column of their own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1 } from '@vigil/schema';
import { testStore } from './test-store.js';
import { insertEvents } from './event-insert.js';
import { EventFilter, queryEvents } from './event-queries.js';

const store = testStore('vigil-dns-events-');
const ts = (BigInt(Date.now()) * 1_000_000n).toString();
const proc: EventV1['proc'] = {
  pid: 77,
  ppid: 1,
  uid: 65534,
  gid: 65534,
  comm: 'python3',
  exe: '/usr/bin/python3.11',
  argv: ['python3'],
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: null,
  startTs: null,
  ancestry: [],
  ancestryTruncated: false,
};
const answer: EventV1 = {
  id: 'dns-1',
  v: 1,
  host: 'h1',
  ts,
  kind: 'dns',
  proc,
  dns: {
    direction: 'answer',
    id: 4660,
    qname: 'db.vigil.test',
    qtype: 1,
    qtypeName: 'A',
    rcode: 0,
    answers: [{ name: 'db.vigil.test', type: 'A', ttl: 120, addr: '127.0.0.77' }],
    server: { family: 'ipv4', addr: '127.0.0.153', port: 53 },
    len: 47,
    truncated: false,
    malformed: null,
  },
};
const conn: EventV1 = {
  id: 'conn-1',
  v: 1,
  host: 'h1',
  ts,
  kind: 'connect',
  proc,
  connect: {
    family: 'ipv4',
    daddr: '127.0.0.77',
    dport: 443,
    ret: 0,
    count: 1,
    firstTs: ts,
    lastTs: ts,
    hostname: 'db.vigil.test',
  },
};

test('a dns event is stored whole and selected by kind; qname and hostname are JSON paths', async () => {
  const { writer, reader } = store();
  await insertEvents(writer, [answer, conn]);
  assert.deepEqual(await queryEvents(reader, EventFilter.parse({ kind: 'dns' })), [answer]);
  const rs = await reader.query({
    query: `SELECT JSONExtractString(event, 'dns', 'qname') AS qname, JSONExtractString(event, 'dns', 'answers', 1, 'addr') AS addr
            FROM events WHERE kind = 'dns'`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rs.json(), [{ qname: 'db.vigil.test', addr: '127.0.0.77' }]);
  const rc = await reader.query({
    query: `SELECT daddr, JSONExtractString(event, 'connect', 'hostname') AS hostname FROM events WHERE kind = 'connect'`,
    format: 'JSONEachRow',
  });
  assert.deepEqual(await rc.json(), [{ daddr: '127.0.0.77', hostname: 'db.vigil.test' }]);
});
