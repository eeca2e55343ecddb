/**
 * DNS on the live kernel: an unprivileged process resolves a name through glibc (getaddrinfo from
 * Python, A and AAAA in one sendmmsg; and getent) against a local DNS server, then connects to the
 * answered address. The sensor shows the query, the answer, and the connect carrying the name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor } from '@vigil/sensor';
import type { EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

/** The workload's DNS server: answers an A query for NAME with ADDR, anything else with no records. */
const SERVER = '127.0.0.153';
const ADDR = '127.0.0.77';

function answer(query: Buffer, name: string): Buffer | null {
  if (query.length < 17) return null;
  let i = 12;
  const labels: string[] = [];
  while (i < query.length && query[i] !== 0) {
    labels.push(query.subarray(i + 1, i + 1 + query[i]!).toString('latin1'));
    i += 1 + query[i]!;
  }
  if (i + 5 > query.length) return null;
  const qtype = query.readUInt16BE(i + 1);
  const question = query.subarray(12, i + 5);
  const hit = qtype === 1 && labels.join('.') === name;
  const rr = hit
    ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, ...ADDR.split('.').map(Number)])
    : Buffer.alloc(0);
  const head = Buffer.from([query[0]!, query[1]!, 0x81, 0x80, 0, 1, 0, hit ? 1 : 0, 0, 0, 0, 0]);
  return Buffer.concat([head, question, rr]);
}

/** Runs a command without blocking this process's event loop (the DNS server answers from it). */
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('error', reject);
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('a resolved name: the query and the answer are dns events, and the connect that follows carries the name', {
  timeout: 120_000,
}, async () => {
  const dir = tempDir('dns');
  chmodSync(dir, 0o755);
  const name = `db${process.pid}.vigil.test`;
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${SERVER}\noptions timeout:2 attempts:2\n`);
  chmodSync(resolvConf, 0o644);

  const dns = createSocket('udp4');
  dns.on('message', (msg, from) => {
    const a = answer(msg, name);
    if (a) dns.send(a, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    dns.once('error', reject);
    dns.bind(53, SERVER, () => resolve());
  });
  const port = await freePort();
  const tcp = createServer((s) => s.end());
  await new Promise<void>((resolve) => tcp.listen(port, ADDR, () => resolve()));

  const spoolDir = join(dir, 'spool');
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc', 'connect', 'dns'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  let pyPid = 0;
  try {
    await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
    // The resolver's configuration is bound over /etc/resolv.conf in a mount namespace of the workload
    // alone; the workload itself runs as nobody.
    const py = `import os, socket; print(os.getpid(), flush=True); a = [x[4] for x in socket.getaddrinfo("${name}", ${port}, type=socket.SOCK_STREAM) if x[0] == socket.AF_INET][0]; socket.create_connection(a, timeout=5).close(); print(a[0])`;
    const r = await run('unshare', [
      '-m',
      'sh',
      '-c',
      `mount --bind "$1" /etc/resolv.conf && getent hosts "$2" && exec setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "$3"`,
      'sh',
      resolvConf,
      name,
      py,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines[0]!.includes(ADDR), `getent resolved the name: ${r.stdout}`);
    pyPid = Number(lines[1]);
    assert.equal(lines[2], ADDR, 'the workload connected to the answered address');
    await sleep(4 * FLUSH_MS);
  } finally {
    await sensor.stop();
    dns.close();
    tcp.close();
  }
  const events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
  const mine = events.filter((e) => e.proc.pid === pyPid);
  const dnsOf = mine.flatMap((e) => (e.kind === 'dns' ? [e.dns] : []));
  const detail = `(${events.length} events; rejects ${JSON.stringify(sensor.counters.rejectsObject())}; workload's: ${JSON.stringify(mine.map((e) => e.kind))})`;
  const query = dnsOf.find((d) => d.direction === 'query' && d.qtypeName === 'A');
  assert.ok(query, `the A query was seen ${detail}`);
  assert.equal(query.qname, name);
  assert.deepEqual(query.server, { family: 'ipv4', addr: SERVER, port: 53 });
  assert.ok(
    dnsOf.some((d) => d.direction === 'query' && d.qtypeName === 'AAAA' && d.qname === name),
    'and the AAAA query sent with it',
  );
  const reply = dnsOf.find((d) => d.direction === 'answer' && d.answers.length > 0);
  assert.ok(reply, `the answer was seen ${detail}`);
  assert.equal(reply.qname, name);
  assert.deepEqual(reply.answers, [{ name, type: 'A', ttl: 120, addr: ADDR }]);
  assert.equal(reply.rcode, 0);
  const conn = mine.find((e) => e.kind === 'connect' && e.connect.daddr === ADDR && e.connect.dport === port);
  assert.ok(conn && conn.kind === 'connect', `the connect was seen ${detail}`);
  assert.equal(conn.connect.hostname, name, 'the connect carries the name its address was resolved from');
  assert.equal(conn.proc.uid, 65534);
  // getent's query, from its own process, was seen too.
  assert.ok(
    events.some((e) => e.kind === 'dns' && e.proc.pid !== pyPid && e.dns.qname === name),
    "getent's query",
  );
});

test("a process flooding port 53 is cut at the probe's rate and the rest is counted, not printed", {
  timeout: 120_000,
}, async () => {
  const dir = tempDir('dns-flood');
  const spoolDir = join(dir, 'spool');
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['dns'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  let pid = 0;
  const sent = 1000;
  try {
    await waitFor('probe running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);
    // An unprivileged process writes junk to a UDP socket connected to port 53, as fast as it can.
    const py = `import os, socket; print(os.getpid(), flush=True); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("${SERVER}", 53))\nfor i in range(${sent}):\n  try: s.send(b"\\x00" * 40)\n  except OSError: pass`;
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', py]);
    assert.equal(r.status, 0, r.stderr);
    pid = Number(r.stdout.trim());
    await waitFor(
      'the skipped messages counted',
      () => (sensor.counters.rejects.get('dns.rate-limited') ?? 0) > 0,
      10_000,
    );
  } finally {
    await sensor.stop();
  }
  const events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
  const printed = events.filter((e) => e.kind === 'dns' && e.proc.pid === pid).length;
  const skipped = sensor.counters.rejects.get('dns.rate-limited') ?? 0;
  assert.ok(printed > 0 && printed < sent, `${printed} of ${sent} printed`);
  // At the turn of a second one message may be both printed and counted; none is neither.
  assert.ok(
    printed + skipped >= sent && skipped < sent,
    `every message is an event or counted: ${printed} printed, ${skipped} counted`,
  );
});
