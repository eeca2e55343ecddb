/**
 * Keeps each probe, its decoder and its recorded fixture in sync: every record the real probe printed
 * (probes/fixtures/*.ndjson, recorded by scripts/record-fixtures.sh on a live kernel) and every sample
 * in the probe's header must decode, and the hostile argv must come out exactly as it went in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBpftraceLine } from './bpftrace-output.js';
import { isReadyRecord, isWakeRecord, ReadyRecord, WakeRecord } from './records.js';
import { PROBES, PROBE_NAMES, BPFTRACE_STRLEN, PRELUDE_SCRIPT, type ProbeSpec } from '../probes/registry.js';
import { RECORD } from '../probes/records.js';
import { BatchCollector } from '../assemble/batch.js';
import { DEFAULT_PROBES_DIR } from '../sensor.js';
import { decodeConnectKey } from './connect.js';
import { decodeGpuKey } from './gpu.js';
import { decodeTcpKey } from './tcp.js';
import { ExecAssembler, type AssembledExec } from '../assemble/exec-assembler.js';
import type { ExecDone } from './exec.js';
import { WindowCollector } from '../assemble/window.js';
import type { DecodedRecord } from '../assemble/event-builder.js';
import { ioctlName, NVIDIA_RM_CLASS } from '../gpu/ioctl-names.js';
import { DnsNames } from '../assemble/dns-names.js';
import { Counters } from '../counters.js';

const fixture = (name: string) =>
  readFileSync(join(DEFAULT_PROBES_DIR, 'fixtures', `${name}.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean);

type FixtureMaps = Record<string, Record<string, unknown> | number>;

/**
 * Decodes a fixture the way the sensor does: value records one by one, the maps of a probe that
 * buffers in the kernel gathered until its end-of-flush record and decoded as one batch.
 */
function decodeAll(name: keyof typeof PROBES): { records: DecodedRecord[]; maps: FixtureMaps[]; flushes: number } {
  const spec: ProbeSpec = PROBES[name];
  const records: DecodedRecord[] = [];
  const maps: FixtureMaps[] = [];
  const batch = new BatchCollector();
  let ready = 0;
  let flushes = 0;
  for (const line of fixture(name)) {
    const out = parseBpftraceLine(line);
    if (out.type === 'value') {
      const isReady = ReadyRecord.safeParse(out.data).success;
      assert.equal(
        isReadyRecord(out.data),
        isReady,
        `${name}: the sensor's quick ready test disagrees with the schema on ${line}`,
      );
      if (isReady) {
        ready++;
        continue;
      }
      const isWake = WakeRecord.safeParse(out.data).success;
      assert.equal(
        isWakeRecord(out.data),
        isWake,
        `${name}: the sensor's quick wake test disagrees with the schema on ${line}`,
      );
      if (isWake) continue;
      const d = spec.decode(out.data as unknown[]);
      assert.ok(d.success, `${name}: fixture record does not decode: ${line}`);
      assert.ok(
        (spec.recordTypes as readonly number[]).includes((out.data as number[])[0]!),
        `${name}: record type not in the registry's recordTypes (the composed probe routes by it): ${line}`,
      );
      if (spec.batch && (out.data as number[])[0] === spec.batch.flushType) {
        const res = spec.batch.decode(batch.end(), batch.before);
        assert.equal(res.rejects, 0, `${name}: a flushed map entry does not decode (flush before ${line})`);
        assert.equal(res.lost, 0, `${name}: the flush before ${line} lacks entries its probe counted as sent`);
        records.push(...res.records);
        flushes++;
      } else {
        records.push(d.data);
      }
    } else if (out.type === 'map') {
      const data = out.data as FixtureMaps;
      if (spec.batch) {
        for (const [mapName, m] of Object.entries(data)) {
          assert.ok(
            mapName.startsWith(`@${spec.batch.prefix}_`) && typeof m === 'object',
            `${name}: unexpected map ${line}`,
          );
          batch.push(mapName, m);
        }
      } else {
        maps.push(data);
      }
    } else {
      assert.equal(out.type, 'attached_probes', `${name}: unexpected line ${line}`);
    }
  }
  assert.equal(ready, 1, `${name}: the fixture holds the probe's ready record`);
  assert.equal(batch.end().size, 0, `${name}: maps after the last end-of-flush record`);
  return { records, maps, flushes };
}

for (const name of PROBE_NAMES) {
  test(`${name}: header samples decode with its decoder`, () => {
    const bt = readFileSync(join(DEFAULT_PROBES_DIR, PROBES[name].script), 'utf8');
    const header = bt.slice(0, bt.indexOf('*/'));
    const samples = [...header.matchAll(/^ \*\s+(\{"type": "value".*\})\s*$/gm)].map((m) => m[1]!);
    assert.ok(samples.length > 0, `${name}.bt has sample output in its header`);
    for (const s of samples) {
      const out = parseBpftraceLine(s);
      assert.ok(PROBES[name].decode(out.data as unknown[]).success, `${name}.bt sample does not decode: ${s}`);
    }
  });
}

test('exec fixture: hostile argv comes out byte for byte, nothing forged', () => {
  const { records, flushes } = decodeAll('exec');
  assert.ok(flushes > 0, 'the fixture holds at least one flush of the exec maps');
  // A failed exec is printed at once as records the assembler joins; a successful one comes whole
  // from a flush of the maps.
  const asm = new ExecAssembler(BPFTRACE_STRLEN - 1);
  const failed: AssembledExec[] = [];
  const done: ExecDone[] = [];
  for (const r of records) {
    if (r.type === 'exec.done') done.push(r);
    else if (r.type.startsWith('exec.') && r.type !== 'exec.flush') {
      const e = asm.push(r as Parameters<ExecAssembler['push']>[0]);
      if (e) failed.push(e);
    }
  }
  assert.equal(asm.size, 0, 'every failed exec is complete');
  const trues = done.filter((e) => e.filename === '/bin/true');
  assert.equal(trues.length, 2, 'the workload execs /bin/true twice');
  const [hostile, many] = trues.sort((x, y) => x.ns - y.ns) as [ExecDone, ExecDone];
  assert.deepEqual(hostile.argv.slice(0, 9), [
    '/bin/true',
    'quote"d',
    "it's",
    '{"kind":"connect","forged":true}',
    'line1\nline2',
    'tab\there',
    '\x01\x1b[31m',
    '\\xff\\xfe bad utf8',
    'café ☕',
  ]);
  assert.equal(hostile.argv[9], 'A'.repeat(BPFTRACE_STRLEN - 1), 'a 300-byte argument is cut at the probe limit');
  assert.equal(hostile.argv.length, 10);
  assert.equal(hostile.argvTruncated, true);
  assert.equal(hostile.ret, 0);
  assert.equal(hostile.comm, 'true');
  assert.equal(hostile.tid, hostile.pid, 'a single-threaded exec keeps its tid');

  assert.equal(many.argv.length, 32, 'the probe reads the first 32 elements');
  assert.deepEqual(many.argv.slice(1, 4), ['1', '2', '3']);
  assert.equal(many.argvTruncated, true, 'more than 32 elements is flagged');

  for (const e of done) {
    assert.ok(e.filename.startsWith('/'), `every flushed exec has its path: ${JSON.stringify(e)}`);
    assert.ok(e.argv.length > 0 && e.argv.every((a) => typeof a === 'string'));
  }

  assert.equal(failed.length, 1);
  const missing = failed[0]!;
  assert.equal(missing.filename, '/nonexistent/vigil-fixture-binary');
  assert.equal(missing.ret, -2, 'ENOENT');
  assert.equal(missing.argvTruncated, false);
});

test('exec fixture: fds 0-2 of each new program (pipe ends paired by inode, tcp peers, /dev/null, a file)', () => {
  const done = decodeAll('exec').records.filter((r): r is ExecDone => r.type === 'exec.done');
  for (const e of done) assert.equal(e.stdio?.length, 3, `every exec has fds 0-2: ${JSON.stringify(e)}`);
  const one = (filename: string) => {
    const found = done.filter((e) => e.filename === filename);
    assert.equal(found.length, 1, `the workload execs ${filename} once`);
    return found[0]!.stdio!;
  };
  // /bin/echo vigil-fixture-pipe | /bin/cat >"$tmp/stdio.out" 2>/dev/null
  const echo = one('/bin/echo');
  const cat = one('/bin/cat');
  assert.equal(echo[1]!.type, 'pipe');
  assert.equal(cat[0]!.type, 'pipe');
  assert.equal(cat[0]!.ino, echo[1]!.ino, "the writer's fd 1 and the reader's fd 0 are one pipe");
  assert.equal(cat[1]!.type, 'file');
  assert.equal(cat[2]!.type, 'char', '/dev/null');
  // /bin/sleep with fds 0 and 1 on a loopback TCP connection, argv[0] vigil-peer-<listener's port>.
  const peers = done.filter((e) => e.argv[0]?.startsWith('vigil-peer-'));
  assert.deepEqual(
    peers.map((e) => e.stdio![0]!.family),
    ['ipv4', 'ipv6'],
  );
  for (const e of peers) {
    const port = Number(e.argv[0]!.slice('vigil-peer-'.length));
    const addr = e.stdio![0]!.family === 'ipv4' ? '127.0.0.1' : '::1';
    for (const fd of [0, 1]) {
      const s = e.stdio![fd]!;
      assert.equal(s.type, 'tcp');
      assert.deepEqual(s.remote, { addr, port }, `fd ${fd}'s peer is the listener`);
      assert.equal(s.local?.addr, addr);
      assert.ok(s.local!.port > 0 && s.local!.port !== port);
    }
    assert.equal(e.stdio![2]!.type, 'char');
  }
});

test('proc fixture: forks name parent and child; exit status and signal are split', () => {
  const { records } = decodeAll('proc');
  const forks = records.filter((r) => r.type === 'proc.fork');
  const exits = records.filter((r) => r.type === 'proc.exit');
  assert.ok(forks.length >= 4);
  assert.ok(
    exits.some((e) => e.type === 'proc.exit' && e.code === 3 && e.signal === null),
    '(exit 3)',
  );
  assert.ok(
    exits.some((e) => e.type === 'proc.exit' && e.signal === 9 && e.code === null),
    'kill -9',
  );
  for (const f of forks) {
    if (f.type === 'proc.fork') assert.notEqual(f.pid, f.ppid);
  }
});

test('connect fixture: IPv4, IPv6 and v4-mapped destinations; repeats folded into a window', () => {
  const { records, maps } = decodeAll('connect');
  const firsts = records.filter((r) => r.type === 'connect.first');
  const dests = firsts.map((r) => (r.type === 'connect.first' ? `${r.family} ${r.daddr} ${r.dport}` : ''));
  assert.ok(
    dests.some((d) => /^ipv4 127\.0\.0\.1 \d+$/.test(d)),
    dests.join(','),
  );
  assert.ok(dests.includes('ipv6 ::1 9'), dests.join(','));
  assert.ok(dests.includes('ipv6 ::ffff:127.0.0.1 9'), dests.join(','));
  const windows = new WindowCollector('connect');
  const entries = maps.flatMap((m) =>
    Object.entries(m).flatMap(([n, d]) => windows.push(n, d as Record<string, number>) ?? []),
  );
  const workload = firsts[0]!;
  const mine = entries.filter((e) => decodeConnectKey(e.key)?.pid === workload.pid);
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.count, 19, '20 connects to one destination: one first record, 19 counted in the kernel');
  const key = decodeConnectKey(mine[0]!.key);
  assert.equal(key?.daddr, '127.0.0.1');
  assert.ok(mine[0]!.firstNs <= mine[0]!.lastNs);
});

test('gpu fixture: RM_ALLOC classes, RM_CONTROL command and the XFER-wrapped compute class', () => {
  const { records, maps } = decodeAll('gpu');
  const named = records.flatMap((r) => {
    if (r.type !== 'gpu.first') return [];
    const { name } = ioctlName(r.request, r.inner);
    return [`${name}${r.inner !== null ? ' (xfer)' : ''} ${NVIDIA_RM_CLASS[r.obj]?.name ?? `0x${r.obj.toString(16)}`}`];
  });
  assert.deepEqual(named, [
    'NV_ESC_RM_ALLOC NV01_ROOT_CLIENT',
    'NV_ESC_RM_CONTROL 0x20800110',
    'NV_ESC_RM_ALLOC HOPPER_CHANNEL_GPFIFO_A',
    'NV_ESC_RM_ALLOC (xfer) HOPPER_COMPUTE_A',
  ]);
  const windows = new WindowCollector('gpu');
  const entries = maps.flatMap((m) =>
    Object.entries(m).flatMap(([n, d]) => windows.push(n, d as Record<string, number>) ?? []),
  );
  assert.equal(entries.length, 4);
  for (const e of entries) {
    assert.equal(e.count, 49, '50 repeats of each call: 1 first-seen record + 49 counted');
    assert.ok(decodeGpuKey(e.key));
  }
});

/** The record types a .bt file prints: field 0 of each `print((N, …))`. */
const printedTypes = (file: string) =>
  new Set(
    [...readFileSync(join(DEFAULT_PROBES_DIR, file), 'utf8').matchAll(/print\(\((\d+),/g)].map((m) => Number(m[1])),
  );

test('every probe prints exactly the record types records.ts names for it, and the prelude the ready and wake records', () => {
  for (const name of PROBE_NAMES) {
    const spec: ProbeSpec = PROBES[name];
    assert.deepEqual(
      [...printedTypes(spec.script)].sort((a, b) => a - b),
      [...Object.values(RECORD[name])].sort((a, b) => a - b),
      `${spec.script} and RECORD.${name}`,
    );
    assert.deepEqual(
      [...spec.recordTypes].sort((a, b) => a - b),
      [...Object.values(RECORD[name])].sort((a, b) => a - b),
      `the registry's recordTypes of ${name}`,
    );
    if (spec.batch)
      assert.ok(printedTypes(spec.script).has(spec.batch.flushType), `${name} prints its end-of-flush record`);
  }
  assert.deepEqual(
    [...printedTypes(PRELUDE_SCRIPT)].sort((a, b) => a - b),
    [RECORD.ready, RECORD.wake],
  );
  const all = PROBE_NAMES.flatMap((n) => Object.values(RECORD[n]) as number[]).concat(RECORD.ready, RECORD.wake);
  assert.equal(new Set(all).size, all.length, 'no record type is used twice (the composed program routes by it)');
});

test('dns fixture: glibc, Python (sendmmsg) and a musl-style sendto; names, answers and a hostile name', () => {
  const { records } = decodeAll('dns');
  const names = new DnsNames(new Counters());
  const events = records
    .flatMap((r) => (r.type === 'dns.message' || r.type === 'dns.server' ? [names.onRecord(r)] : []))
    .filter((d) => d !== null);
  const queries = events.filter((d) => d.direction === 'query');
  const answers = events.filter((d) => d.direction === 'answer');
  for (const d of events) {
    assert.equal(d.malformed, null, JSON.stringify(d));
    assert.deepEqual(d.server, { family: 'ipv4', addr: '127.0.0.1', port: 53 });
  }
  assert.deepEqual([...new Set(queries.map((d) => `${d.qname} ${d.qtypeName}`))].sort(), [
    'a\\046b.c\\000d.evil A',
    'db.vigil.test A',
    'db.vigil.test AAAA',
  ]);
  const addrs = answers.flatMap((d) => d.answers.map((a) => `${d.qname} ${a.type} ${a.addr} ${a.ttl}`));
  assert.ok(addrs.includes('db.vigil.test A 127.0.0.7 300'), addrs.join(','));
  assert.ok(addrs.includes('db.vigil.test AAAA ::7 300'), addrs.join(','));
  assert.ok(
    addrs.includes('a\\046b.c\\000d.evil A 127.0.0.7 300'),
    'the hostile name is answered under its escaped form',
  );
  // Python's getaddrinfo sends A and AAAA in one sendmmsg: both messages are there, from one pid.
  const byPid = new Map<number, number>();
  for (const r of records)
    if (r.type === 'dns.message' && r.direction === 'query') byPid.set(r.pid, (byPid.get(r.pid) ?? 0) + 1);
  assert.ok([...byPid.values()].some((n) => n >= 2));
});

test('tcp fixture: listen, established out and in, closes with durations, on IPv4 and IPv6; repeats in a window', () => {
  const { records, maps } = decodeAll('tcp');
  const firsts = records.flatMap((r) => (r.type === 'tcp.first' ? [r] : []));
  const pid = firsts[0]!.pid;
  const seen = firsts
    .filter((r) => r.pid === pid)
    .map((r) => `${r.family} ${r.event} ${r.direction ?? '-'} ${r.local.addr} ${r.remote.addr}`);
  assert.deepEqual(seen, [
    'ipv4 listen - 127.0.0.1 0.0.0.0',
    'ipv4 established out 127.0.0.1 127.0.0.1',
    'ipv4 established in 127.0.0.1 127.0.0.1',
    'ipv4 close out 127.0.0.1 127.0.0.1',
    'ipv4 close in 127.0.0.1 127.0.0.1',
    'ipv6 listen - ::1 ::',
    'ipv6 established out ::1 ::1',
    'ipv6 established in ::1 ::1',
    'ipv6 close out ::1 ::1',
    'ipv6 close in ::1 ::1',
  ]);
  const [listen, out, inbound] = firsts as [(typeof firsts)[0], (typeof firsts)[0], (typeof firsts)[0]];
  assert.equal(out.remote.port, listen.local.port, 'the client connected to the listener');
  assert.equal(inbound.local.port, listen.local.port);
  assert.equal(inbound.remote.port, out.local.port, "the accepted connection is the client's");
  for (const r of firsts) {
    if (r.event === 'close') assert.ok(r.durNs >= 2_000_000, 'each connection was held 2 ms before its close');
    else assert.equal(r.durNs, 0);
    assert.equal(r.hint.comm, 'python3', "on loopback every record comes in the workload's context");
  }
  const windows = new WindowCollector('tcp', ['dmax', 'dsum']);
  const entries = maps
    .flatMap((m) => Object.entries(m).flatMap(([n, d]) => windows.push(n, d as Record<string, number>) ?? []))
    .filter((e) => decodeTcpKey(e.key)?.pid === pid);
  assert.equal(entries.length, 8, 'listens are not repeated; 4 events x 2 families are');
  for (const e of entries) {
    const k = decodeTcpKey(e.key)!;
    assert.equal(e.count, 19, `20 connections: one first record, 19 counted (${k.event} ${k.direction})`);
    assert.equal(k.direction === 'out' ? k.local.port : k.remote.port, 0, 'the ephemeral port is folded');
    if (k.event === 'close') {
      assert.ok(e.extra!.dmax! >= 2_000_000 && e.extra!.dsum! >= 19 * 2_000_000, JSON.stringify(e));
    } else assert.equal(e.extra!.dmax, undefined);
  }
});
