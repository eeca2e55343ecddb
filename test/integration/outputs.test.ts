/**
 * The outputs of vigil.yaml against real receivers on loopback: an HTTP server in this test checks
 * each webhook's HMAC, answers 500 before 200 and sees the retry; a control plane restarted while
 * deliveries wait for their retry loses none and doubles none (by X-Vigil-Delivery); a receiver that
 * always fails gets its messages dead-lettered after maxAttempts; a Slack output's body carries the
 * incident's fields and link; the file output rotates. Alerts are raised by publishing miner execs
 * that the built-ins catch; incidents are published on their stream as the incidents part does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { startControlPlane, type ControlPlaneConfig, type RunningControlPlane } from '@vigil/control-plane';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import {
  ALERTS_STREAM,
  DEAD_LETTER_STREAM,
  deadLetterSubject,
  eventSubject,
  incidentSubject,
  SEVERITIES,
  VigilConfigV1,
  type AlertV1,
  type IncidentV1,
  type StatusReport,
  type VigilConfigInput,
} from '@vigil/schema';
import { execEvent } from '../support/ingest-stack.js';
import { freePort, tempDir, vigilAsync, waitFor } from '../support/harness.js';

const dir = tempDir('outputs');
const log = pino({ level: 'silent' });
const KEY = randomBytes(32).toString('hex');
const SECRET = join(dir, 'webhook.key');
writeFileSync(SECRET, `${KEY}\n`);
const FILE = join(dir, 'alerts.jsonl');
const PUBLIC_URL = 'https://vigil.example.org';

/** vigil.yaml as a reload changes it: each `set` is a new valid version. */
class ChangingConfig extends EventEmitter {
  private value: VigilConfigV1;
  constructor(input: VigilConfigInput) {
    super();
    this.value = VigilConfigV1.parse(input);
  }
  current(): VigilConfigV1 {
    return this.value;
  }
  set(input: VigilConfigInput): void {
    const previous = this.value;
    this.value = VigilConfigV1.parse(input);
    this.emit('change', this.value, previous);
  }
}

interface Received {
  path: string;
  delivery: string;
  signatureOk: boolean;
  status: number;
  body: { kind: string; data: { id: string; host: string; count?: number; version?: number } } & Record<
    string,
    unknown
  >;
}
const received: Received[] = [];
/** The answer for the n-th attempt (1-based) at one delivery on one path, about an alert or incident of `host`. */
let answer: (path: string, attempt: number, host: string) => number = () => 200;

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

let server: Server;
let receiver = '';
let nats: LocalNats;
let nc: NatsConnection;
let cp: RunningControlPlane;
let cfg: ControlPlaneConfig;
const alerts: AlertV1[] = [];

before(async () => {
  server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const delivery = String(req.headers['x-vigil-delivery'] ?? '');
    const expected = `sha256=${createHmac('sha256', KEY).update(raw).digest('hex')}`;
    const path = req.url ?? '';
    const attempt = received.filter((r) => r.path === path && r.delivery === delivery).length + 1;
    const body = JSON.parse(raw) as Received['body'];
    const status = answer(path, attempt, body.data?.host ?? '');
    received.push({ path, delivery, signatureOk: req.headers['x-vigil-signature'] === expected, status, body });
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  receiver = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log });
  nc = await connect({ servers: nats.url });
  nc.subscribe('vigil.alerts.>', { callback: (_e, m) => alerts.push(m.json<AlertV1>()) });
  cfg = {
    storage: { kind: 'embedded', dataDir: join(dir, 'ch') },
    nats: { servers: nats.url },
    api: { host: '127.0.0.1', port: 0 },
    log,
    config: new ChangingConfig({
      publicUrl: PUBLIC_URL,
      outputs: [
        { type: 'webhook', name: 'hook', url: `${receiver}/hook`, send: 'alerts', secretFile: SECRET, timeout: '5s' },
        { type: 'webhook', name: 'dead', url: `${receiver}/dead`, send: 'alerts', maxAttempts: 2, rules: ['miner.*'] },
        { type: 'slack', name: 'slack', url: `${receiver}/slack`, send: 'incidents', minSeverity: 'medium' },
        {
          type: 'webhook',
          name: 'each',
          url: `${receiver}/each`,
          send: 'incidents',
          minSeverity: 'medium',
          settle: '0s',
        },
        { type: 'file', name: 'file', path: FILE, send: 'alerts', minSeverity: 'info', maxBytes: 4096, keep: 2 },
      ],
    }),
  };
  cp = await startControlPlane({ ...cfg, api: { host: '127.0.0.1', port: await freePort() } });
});

after(async () => {
  await cp?.stop();
  await nc?.close();
  await nats?.stop();
  server?.close();
});

const status = async () =>
  ((await (await fetch(`${cp.apiUrl}/api/v1/status`)).json()) as StatusReport).controlPlane.outputs!;
const output = async (name: string) => (await status()).find((o) => o.name === name)!;

/** Raises a miner alert on each of `hosts` (one exec each: distinct hosts make distinct alerts). */
async function raise(hosts: string[]): Promise<void> {
  const js = nc.jetstream();
  for (const [i, host] of hosts.entries())
    await js.publish(
      eventSubject(host, 'exec'),
      JSON.stringify(execEvent(host, 4000 + i, ['/tmp/.x/xmrig', '-o', 'stratum+tcp://pool.example:3333'])),
    );
}

/** The delivery ids an alerts output at `minSeverity` owes for the alerts on `hosts` seen so far. */
const owed = (hosts: string[], minSeverity: AlertV1['severity'] = 'high'): Set<string> =>
  new Set(
    alerts
      .filter((a) => hosts.includes(a.host) && SEVERITIES.indexOf(a.severity) >= SEVERITIES.indexOf(minSeverity))
      .map((a) => `alert-${a.id}-${a.count}`),
  );

test('webhook: signed, retried after a 500, and across a restart nothing is lost or sent twice', async () => {
  const first = ['hook-a1', 'hook-a2', 'hook-a3'];
  const second = ['hook-b1', 'hook-b2', 'hook-b3'];
  let restarted = false;
  answer = (path, attempt, host) => {
    if (path !== '/hook') return path === '/dead' ? 500 : 200;
    // Every first attempt fails; the second hosts' keep failing until the control plane was restarted.
    return attempt === 1 || (!restarted && host.startsWith('hook-b')) ? 500 : 200;
  };
  await raise(first);
  await waitFor('the first alerts delivered after their retry', () => {
    const want = owed(first);
    const ok = new Set(received.filter((r) => r.path === '/hook' && r.status === 200).map((r) => r.delivery));
    return want.size >= first.length && [...want].every((d) => ok.has(d));
  });
  await raise(second);
  await waitFor('the second alerts failed at least once each', () => {
    const want = owed(second);
    const tried = new Set(received.filter((r) => r.path === '/hook' && r.status === 500).map((r) => r.delivery));
    return want.size >= second.length && [...want].every((d) => tried.has(d));
  });
  await cp.stop();
  restarted = true;
  cp = await startControlPlane({ ...cfg, api: { host: '127.0.0.1', port: await freePort() } });
  const all = [...first, ...second];
  await waitFor(
    'every alert delivered after the restart',
    () => {
      const ok = new Set(received.filter((r) => r.path === '/hook' && r.status === 200).map((r) => r.delivery));
      return [...owed(all)].every((d) => ok.has(d));
    },
    60_000,
  );
  const hook = received.filter((r) => r.path === '/hook');
  assert.ok(
    hook.every((r) => r.signatureOk),
    'every request carries the HMAC of its body',
  );
  assert.ok(
    hook.some((r) => r.status === 500),
    'the receiver failed some attempts',
  );
  const delivered = hook.filter((r) => r.status === 200).map((r) => r.delivery);
  assert.deepEqual([...delivered].sort(), [...owed(all)].sort(), 'each alert delivered exactly once, none lost');
  for (const r of hook) {
    assert.equal(r.body.kind, 'alert');
    assert.equal(r.delivery, `alert-${r.body.data.id}-${r.body.data.count}`);
  }
  const metrics = await (await fetch(`${cp.apiUrl}/metrics`)).text();
  assert.match(metrics, /vigil_output_sent_total\{output="hook",type="webhook"\} \d+/);
  assert.ok((await output('hook')).sent > 0, 'the restarted control plane counts what it sent');
  // Not spawnSync: the control plane answering it runs in this process.
  const shown = await vigilAsync(cp.apiUrl, ['status']);
  assert.match(shown.stdout, /^output hook \(webhook\): sent [1-9]\d*, failed \d+, retrying \d+, dead-lettered 0/m);
});

test('a receiver that always fails: dead-lettered after maxAttempts with the last error, counted', async () => {
  const hosts = ['dead-a1'];
  answer = (path) => (path === '/dead' ? 500 : 200);
  await raise(hosts);
  const parked = async () => {
    const c = await nc.jetstream().consumers.get(DEAD_LETTER_STREAM, {
      filterSubjects: deadLetterSubject('output.dead'),
    });
    const out = [];
    for await (const m of await c.fetch({ max_messages: 1000, expires: 1000 })) {
      const a = m.json<AlertV1>();
      out.push({
        id: `alert-${a.id}-${a.count}`,
        error: m.headers?.get('Vigil-Error'),
        attempts: m.headers?.get('Vigil-Attempts'),
      });
      if (m.info.pending === 0) break;
    }
    return out;
  };
  const ours = await waitFor('its alerts dead-lettered', async () => {
    const want = owed(hosts);
    const got = (await parked()).filter((p) => want.has(p.id));
    return want.size > 0 && got.length === want.size && got;
  });
  for (const p of ours) {
    assert.match(p.error ?? '', /HTTP 500/);
    assert.equal(p.attempts, '2');
    const attempts = received.filter((r) => r.path === '/dead' && r.delivery === p.id);
    assert.equal(attempts.length, 2, 'tried maxAttempts times');
  }
  assert.ok((await output('dead')).deadLettered >= ours.length, 'counted in the status');
  const metrics = await (await fetch(`${cp.apiUrl}/metrics`)).text();
  assert.match(metrics, /vigil_output_dead_lettered_total\{output="dead",type="webhook"\} [1-9]/);
});

const incident = (version: number): IncidentV1 => ({
  id: 'inc-rome-1',
  v: 1,
  version,
  host: 'gpu-node-7',
  job: 'slurm-4242',
  title: 'python → bash → curl → <kworker> → 127.0.0.1:443 stratum',
  severity: 'critical',
  status: 'open',
  firstTs: '1796567552029126756',
  lastTs: '1796567552029126756',
  root: null,
  processes: [],
  alerts: [],
  alertCount: version,
  rules: ['miner.exec', 'shell.reverse'],
  mitre: [],
  statusHistory: [],
  notes: [],
  responses: [],
});

test('incidents: a burst of versions makes one Slack message (readable, escaped, linked); settle 0s sends each version once', async () => {
  const js = nc.jetstream();
  await js.publish(incidentSubject('gpu-node-7'), JSON.stringify(incident(1)));
  await js.publish(incidentSubject('gpu-node-7'), JSON.stringify(incident(2)));
  // The same version again (a republish): delivered once.
  await js.publish(incidentSubject('gpu-node-7'), JSON.stringify(incident(2)));
  await js.publish(incidentSubject('gpu-node-7'), JSON.stringify({ ...incident(3), severity: 'low' }));
  // The control plane's own incidents (from the alerts the tests before raised) reach these outputs
  // too: this test reads what was sent for its incident, and counts at least its own.
  const ours = (path: string) =>
    received.filter((r) => r.path === path && JSON.stringify(r.body).includes('inc-rome-1'));
  await waitFor('the superseded, the duplicate and the low one acked by the Slack output', async () => {
    const o = await output('slack');
    return ours('/slack').length === 1 && (o.duplicates ?? 0) >= 2 && (o.skipped ?? 0) >= 1;
  });
  const each = ours('/each');
  assert.deepEqual(
    each.map((r) => [r.body.kind, r.delivery, r.body.data.version]),
    [
      ['incident', 'incident-inc-rome-1-v1', 1],
      ['incident', 'incident-inc-rome-1-v2', 2],
    ],
    'settle 0s: versions 1 and 2, once each; the low-severity one not at all',
  );
  assert.equal((await output('each')).duplicates, 1);
  const slack = ours('/slack');
  assert.equal(slack.length, 1, 'the burst settled into its newest version');
  const body = slack[0]!.body as unknown as {
    text: string;
    blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] }[];
  };
  assert.match(
    body.text,
    /^\[CRITICAL\] Incident on gpu-node-7 \(job slurm-4242\): python → bash → curl → &lt;kworker&gt;/,
  );
  const shown = JSON.stringify(body.blocks);
  assert.ok(!shown.includes('<kworker>'), 'text from the host cannot make a Slack link or mention');
  const fields = body.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
  assert.deepEqual(fields, [
    '*Severity*\ncritical',
    '*Host*\ngpu-node-7',
    '*Job*\nslurm-4242',
    '*Rules*\nminer.exec, shell.reverse',
  ]);
  const link = body.blocks.flatMap((b) => b.elements ?? []).map((e) => e.text);
  assert.deepEqual(link, [`<${PUBLIC_URL}/ui/incidents/inc-rome-1|Open the incident in Vigil>`]);
});

test('file: JSON lines, rotated by size, keep files kept', async () => {
  const hosts = Array.from({ length: 12 }, (_, i) => `file-h${i}`);
  await raise(hosts);
  await waitFor('the file rotated twice', () => existsSync(`${FILE}.2`) && owed(hosts, 'info').size >= hosts.length);
  await waitFor('every alert written', async () => (await output('file')).sent >= owed(hosts, 'info').size);
  assert.ok(!existsSync(`${FILE}.3`), 'keep: 2');
  for (const f of [FILE, `${FILE}.1`, `${FILE}.2`]) {
    assert.ok(statSync(f).size <= 4096, `${f} within maxBytes`);
    for (const line of readFileSync(f, 'utf8').trimEnd().split('\n')) {
      const rec = JSON.parse(line) as { kind: string; deliveryId: string; data: AlertV1 };
      assert.equal(rec.kind, 'alert');
      assert.equal(rec.deliveryId, `alert-${rec.data.id}-${rec.data.count}`);
    }
  }
});

test('a reload starts the outputs added, stops those removed, and retries one that could not start', async () => {
  const config = cfg.config as ChangingConfig;
  const outputs = config.current().outputs;
  const late = { type: 'webhook', name: 'late', url: `${receiver}/late`, send: 'alerts' } as const;
  answer = () => 200;
  config.set({ publicUrl: PUBLIC_URL, outputs: [...outputs, late] });
  await waitFor('the added output running', async () => (await status()).some((o) => o.name === 'late'));
  await raise(['late-a1']);
  await waitFor('the added output delivering', () =>
    received.some((r) => r.path === '/late' && owed(['late-a1']).has(r.delivery)),
  );
  config.set({ publicUrl: PUBLIC_URL, outputs });
  await waitFor('the removed output gone', async () => !(await status()).some((o) => o.name === 'late'));
  await raise(['late-b1']);
  await waitFor('the others delivering', () =>
    received.some((r) => r.path === '/hook' && owed(['late-b1']).has(r.delivery)),
  );
  assert.ok(
    !received.some((r) => r.path === '/late' && r.body.data.host === 'late-b1'),
    'the removed output sent nothing more',
  );
  // One whose secret file is missing is listed with the reason, and starts at a reload once it is there.
  const keyFile = join(dir, 'later.key');
  const keyed = {
    type: 'webhook',
    name: 'keyed',
    url: `${receiver}/keyed`,
    send: 'alerts',
    secretFile: keyFile,
  } as const;
  config.set({ publicUrl: PUBLIC_URL, outputs: [...outputs, keyed] });
  const failed = await waitFor('the keyed output listed as failed', async () =>
    (await status()).find((o) => o.name === 'keyed' && o.lastError),
  );
  assert.match(failed.lastError!, /secretFile .*later\.key/);
  writeFileSync(keyFile, 'k');
  config.set({ publicUrl: PUBLIC_URL, outputs: [...outputs, keyed] });
  // A new output starts at what arrives once its consumer exists: raise after it runs.
  await waitFor('the keyed output running', async () =>
    (await status()).some((o) => o.name === 'keyed' && o.lastError === null),
  );
  await raise(['keyed-a1']);
  await waitFor('the keyed output delivering', () =>
    received.some((r) => r.path === '/keyed' && owed(['keyed-a1']).has(r.delivery)),
  );
});

test("an output's consumer deleted under it is made again where it stopped: nothing published meanwhile is lost", async () => {
  answer = () => 200;
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.delete(ALERTS_STREAM, 'vigil-output-hook');
  const hosts = ['gone-a1', 'gone-a2'];
  await raise(hosts);
  await waitFor(
    'the alerts raised while the consumer was missing delivered',
    () => {
      const want = owed(hosts);
      const ok = new Set(received.filter((r) => r.path === '/hook' && r.status === 200).map((r) => r.delivery));
      return want.size >= hosts.length && [...want].every((d) => ok.has(d));
    },
    60_000,
  );
  const delivered = received.filter((r) => r.path === '/hook' && r.status === 200).map((r) => r.delivery);
  assert.equal(new Set(delivered).size, delivered.length, 'nothing sent twice');
});
