import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StdioFdV1 } from '@vigil/schema';
import { decodeExecBatch } from './exec.js';
import { PIPEFS_MAGIC, stdioFd } from './stdio.js';

const dev = (major: number, minor: number) => (major << 20) | minor;
const head = (pid: number, execId: number) => [pid, 1, 0, 0, 5, 'bash', 0, '/usr/bin/bash', execId];
const maps = (m: Record<string, Record<string, unknown>>) => new Map(Object.entries(m));

test('stdioFd: each file type, terminal majors, pipe against named fifo, socket families', () => {
  const t = (mode: number, aux = 0) => stdioFd(0, [mode, 42, aux], undefined).type;
  assert.equal(t(0o020620, dev(136, 3)), 'tty', '/dev/pts/3');
  assert.equal(t(0o020666, dev(5, 0)), 'tty', '/dev/tty');
  assert.equal(t(0o020620, dev(4, 1)), 'tty', '/dev/tty1');
  assert.equal(t(0o020666, dev(1, 3)), 'char', '/dev/null');
  assert.equal(t(0o010600, PIPEFS_MAGIC), 'pipe');
  assert.equal(t(0o010644, 0xef53), 'fifo', 'a named fifo on ext4');
  assert.equal(t(0o100644), 'file');
  assert.equal(t(0o040755), 'dir');
  assert.equal(t(0o060660, dev(8, 0)), 'block');
  assert.equal(t(0o140777, (1 << 16) | 0), 'unix');
  assert.equal(t(0o140777, (2 << 16) | 6), 'tcp');
  assert.equal(t(0o140777, (10 << 16) | 17), 'udp');
  assert.equal(t(0o140777, (2 << 16) | 132), 'socket', 'sctp');
  assert.equal(t(0o140777, (16 << 16) | 0), 'socket', 'netlink');
  assert.equal(t(0o600), 'other', 'an anonymous inode (eventfd) has no type bits');
  assert.deepEqual(stdioFd(2, [0, 0, 0], undefined), { fd: 2, type: 'none', ino: null });
  for (const mode of [0o020620, 0o010600, 0o140777, 0o600]) {
    assert.ok(StdioFdV1.safeParse(stdioFd(1, [mode, 7, 0], undefined)).success);
  }
});

test('exec batch: stdio joined by process and exec count, sockets with their endpoints', () => {
  const res = decodeExecBatch(
    maps({
      '@exec_head': { '10,1000': head(10, 3), '11,1001': head(11, 3) },
      '@exec_fd': {
        '10,3': [
          [0o140777, 900, (2 << 16) | 6],
          [0o140777, 900, (2 << 16) | 6],
          [0o010600, 901, PIPEFS_MAGIC],
        ],
        '11,3': [
          [0o140777, 902, (10 << 16) | 6],
          [0o020666, 3, dev(1, 3)],
          [0, 0, 0],
        ],
      },
      '@exec_sock': {
        '10,3,0': [40000, '127.0.0.1', 4444, '127.0.0.1'],
        '10,3,1': [40000, '127.0.0.1', 4444, '127.0.0.1'],
        '11,3,0': [8080, '::ffff:10.0.0.1', 51000, '::ffff:203.0.113.7'],
      },
      '@exec_sent': { 1: 2 },
    }),
    199,
  );
  assert.equal(res.rejects, 0);
  assert.equal(res.lost, 0);
  const [a, b] = res.records;
  assert.deepEqual(a?.stdio, [
    {
      fd: 0,
      type: 'tcp',
      ino: 900,
      family: 'ipv4',
      local: { addr: '127.0.0.1', port: 40000 },
      remote: { addr: '127.0.0.1', port: 4444 },
    },
    {
      fd: 1,
      type: 'tcp',
      ino: 900,
      family: 'ipv4',
      local: { addr: '127.0.0.1', port: 40000 },
      remote: { addr: '127.0.0.1', port: 4444 },
    },
    { fd: 2, type: 'pipe', ino: 901 },
  ]);
  assert.deepEqual(b?.stdio?.[0]?.remote, { addr: '::ffff:203.0.113.7', port: 51000 });
  assert.deepEqual(
    b?.stdio?.map((s) => s.type),
    ['tcp', 'char', 'none'],
  );
  for (const s of [...a!.stdio!, ...b!.stdio!]) assert.ok(StdioFdV1.safeParse(s).success);
});

test('exec batch: fds written before a flip come from the flush before; a head without an exec count has no stdio', () => {
  const prev = maps({
    '@exec_fd': {
      '10,3': [
        [0o100644, 5, 0],
        [0o100644, 5, 0],
        [0o100644, 5, 0],
      ],
    },
  });
  const res = decodeExecBatch(
    maps({
      '@exec_head': { '10,1000': head(10, 3), '12,1002': [12, 1, 0, 0, 5, 'cat', 0, '/usr/bin/cat'] },
      '@exec_sent': { 1: 2 },
    }),
    199,
    prev,
  );
  assert.equal(res.lost, 0);
  assert.deepEqual(
    res.records[0]?.stdio?.map((s) => s.type),
    ['file', 'file', 'file'],
  );
  assert.equal(res.records[1]?.stdio, undefined);
});

test('exec batch: hostile or missing fd entries are counted, never forged into a field', () => {
  const res = decodeExecBatch(
    maps({
      '@exec_head': {
        '10,1000': head(10, 1),
        '11,1001': head(11, 1),
        '12,1002': head(12, 1),
        '13,1003': head(13, 1),
      },
      '@exec_fd': {
        // A mode past 16 bits, a string for an inode.
        '10,1': [
          [0x1ffff, 1, 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        '11,1': [
          [0o100644, '5', 0],
          [0, 0, 0],
          [0, 0, 0],
        ],
        '12,1': [
          [0o140777, 7, (2 << 16) | 6],
          [0o140777, 8, (2 << 16) | 6],
          [0o140777, 9, (2 << 16) | 6],
        ],
        // 13: no entry (a full map).
      },
      '@exec_sock': {
        // fd 0: an address that is none; fd 1: a v6 address on a v4 socket; fd 2: missing.
        '12,1,0': [1, '127.0.0.1"}', 2, '127.0.0.1'],
        '12,1,1': [1, '::1', 2, '::1'],
      },
      '@exec_sent': { 1: 4 },
    }),
    199,
  );
  assert.equal(res.records.length, 4, 'every exec still comes out');
  assert.equal(res.rejects, 2 + 2, 'two fd entries and two socket entries that do not decode');
  assert.equal(res.lost, 1 + 1, "one exec's fds and one socket's endpoints are missing");
  const [a, b, c, d] = res.records;
  assert.equal(a?.stdio, undefined);
  assert.equal(b?.stdio, undefined);
  assert.equal(d?.stdio, undefined);
  assert.deepEqual(
    c?.stdio?.map((s) => [s.type, s.local, s.remote]),
    [
      ['tcp', undefined, undefined],
      ['tcp', undefined, undefined],
      ['tcp', undefined, undefined],
    ],
  );
});
