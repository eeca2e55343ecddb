/**
 * Control-plane replicas partitioned by host (control-plane/src/ingest/partitioned-ingest.ts), against
 * a real nats-server 2.9 whose account maps each host's events to its partition (partition(16, 1)):
 * every host's events reach one replica; 20 hosts spread over three; a replica that dies has its
 * partitions taken over within the lease time with nothing lost, no loss reported and duplicates only
 * of what it had not acked; a detection that needs two events of one host fires when both reach the
 * same replica, not across a hand-over, and the replica that gave the partition up forgets the host.
 * The replicas run in this process on their own NATS connections; the storage they share is one
 * embedded chDB, standing in for the ClickHouse server replicas need (none runs here).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type NatsConnection } from 'nats';
import { pino } from 'pino';
import {
  createStorageClients,
  DetectionEngine,
  migrate,
  PartitionedIngest,
  type LoadedDetection,
  type StorageClients,
} from '@vigil/control-plane';
import { defineDetection } from '@vigil/control-plane/detect';
import { startLocalNats, type LocalNats } from '@vigil/cli/nats-server';
import {
  CONTROL_PLANE_BUCKET,
  DEFAULT_PARTITIONS,
  eventSubject,
  partitionedEventsMapping,
  partitionOfHost,
  type AlertV1,
  type EventV1,
} from '@vigil/schema';
import { freePort, startVigil, tempDir, waitFor } from '../support/harness.js';
import { execEvent } from '../support/ingest-stack.js';

const log = pino({ level: 'silent' });
const dir = tempDir('partitions');
const P = DEFAULT_PARTITIONS;
const TTL_SECONDS = 3;
let nats: LocalNats;
let store: StorageClients;
let pub: NatsConnection;

/** Fires on `step2` run by a process whose recent history holds `step1`: state kept per host and pid. */
const twoStep = defineDetection({
  id: 'test.two-step',
  title: 'two steps of one process',
  severity: 'high',
  mitre: [],
  on: ['exec'],
  match: (ev, ctx) =>
    ev.exec.argv[0] === 'step2' &&
    ctx.recent(ev.host, ev.proc.pid).some((e) => e.kind === 'exec' && e.exec.argv[0] === 'step1')
      ? { reason: 'step1 then step2' }
      : null,
});

interface Replica {
  name: string;
  nc: NatsConnection;
  ingest: PartitionedIngest;
  engine: DetectionEngine;
  alerts: AlertV1[];
  /** Event ids this replica's detections saw, with their host. */
  seen: Map<string, string>;
}

const replicas: Replica[] = [];

/** An exec of one process (its start time known, so both steps are the same process), `n` ns apart. */
const step = (host: string, pid: number, name: string, n: number): EventV1 => {
  const ev = execEvent(host, pid, [name]);
  return { ...ev, ts: (BigInt(ev.ts) + BigInt(n)).toString(), proc: { ...ev.proc, startTs: `${pid}000` } };
};

async function replica(name: string): Promise<Replica> {
  const nc = await connect({ servers: nats.url, name });
  const alerts: AlertV1[] = [];
  const engine = new DetectionEngine({
    config: { expectedGpu: { exe: [], cgroup: [] }, sensorPids: () => new Set() },
    onAlert: (a) => alerts.push(a),
  });
  engine.setDetections([
    { detection: twoStep as LoadedDetection['detection'], source: 'typescript', author: null, origin: 'test' },
  ]);
  const seen = new Map<string, string>();
  const ingest = new PartitionedIngest(nc.jetstream(), store.writer, {
    batchSize: 1000,
    storeLingerMs: 50,
    log,
    streams: { maxAgeHours: 1, maxBytes: 256 * 1024 * 1024 },
    partitions: P,
    ttlSeconds: TTL_SECONDS,
    ackWaitMs: 4000,
    kvReplicas: 1,
    describe: 'the test store',
    onEvents: (events) => {
      for (const ev of events) seen.set(ev.id, ev.host);
      engine.process(events);
    },
    onDropped: (_p, isIn) => engine.forgetHosts(isIn),
  });
  await ingest.start();
  const r = { name, nc, ingest, engine, alerts, seen };
  replicas.push(r);
  return r;
}

/** Leaves cleanly. */
async function leave(r: Replica): Promise<void> {
  await r.ingest.stop();
  await r.nc.close();
  replicas.splice(replicas.indexOf(r), 1);
}

/** Dies: its connection drops, nothing is released or acked from then on. */
async function kill(r: Replica): Promise<void> {
  await r.nc.close();
  await r.ingest.stop();
  replicas.splice(replicas.indexOf(r), 1);
}

/** Every partition held by exactly one of `rs`. */
const settled = (rs: Replica[]): boolean => {
  const held = rs.flatMap((r) => r.ingest.held());
  return held.length === P && new Set(held).size === P;
};
const waitSettled = (rs: Replica[], what: string) =>
  waitFor(what, () => settled(rs), 30_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${rs.map((r) => `${r.name} holds [${r.ingest.held().join(',')}]`).join('; ')}`);
  });

async function publish(events: EventV1[]): Promise<void> {
  const js = pub.jetstream();
  for (const ev of events) await js.publish(eventSubject(ev.host, ev.kind), JSON.stringify(ev));
}

const storedIds = async (hostPrefix: string): Promise<Map<string, number>> => {
  const rs = await store.reader.query({
    query: `SELECT toString(id) AS id, count() AS n FROM events WHERE startsWith(host, {p:String}) GROUP BY id`,
    query_params: { p: hostPrefix },
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<{ id: string; n: string }>()).map((r) => [r.id, Number(r.n)]));
};

before(async () => {
  const conf = join(dir, 'nats.conf');
  const [[from, to]] = Object.entries(partitionedEventsMapping(P)) as [[string, string]];
  writeFileSync(conf, `mappings = {\n  "${from}": "${to}"\n}\n`);
  nats = await startLocalNats({ dataDir: dir, port: await freePort(), log, configFile: conf });
  store = createStorageClients({ kind: 'embedded', dataDir: join(dir, 'clickhouse') });
  await migrate(store.writer);
  pub = await connect({ servers: nats.url });
  const jsm = await pub.jetstreamManager();
  await jsm.streams.add({ name: 'VIGIL_EVENTS', subjects: ['vigil.events.>'] });
});

after(async () => {
  for (const r of [...replicas]) await leave(r).catch(() => undefined);
  await pub?.close();
  await store?.close();
  await nats?.stop();
});

test('20 hosts spread over three replicas that join one by one; each host reaches exactly one', async () => {
  const a = await replica('a');
  await waitSettled([a], 'the first replica to hold every partition');
  const b = await replica('b');
  await waitSettled([a, b], 'two replicas to share the partitions');
  const c = await replica('c');
  await waitFor(
    'three replicas to share the partitions',
    () => settled([a, b, c]) && [a, b, c].every((r) => r.ingest.held().length >= 4),
  );
  const hosts = Array.from({ length: 20 }, (_, i) => `spread-${i}`);
  const events = hosts.flatMap((h, i) => [execEvent(h, 100 + i, ['/bin/true']), execEvent(h, 200 + i, ['/bin/ls'])]);
  await publish(events);
  await waitFor('every event stored', async () => (await storedIds('spread-')).size === events.length);
  const stored = await storedIds('spread-');
  assert.ok(
    [...stored.values()].every((n) => n === 1),
    'each stored once',
  );
  const reachedBy = new Map<string, Set<string>>();
  for (const r of [a, b, c])
    for (const [, host] of r.seen) reachedBy.set(host, (reachedBy.get(host) ?? new Set()).add(r.name));
  for (const h of hosts) assert.equal(reachedBy.get(h)?.size, 1, `${h} reached ${[...(reachedBy.get(h) ?? [])]}`);
  for (const r of [a, b, c])
    assert.ok(
      hosts.some((h) => reachedBy.get(h)?.has(r.name)),
      `${r.name} (partitions ${r.ingest.held()}) reads some of the 20 hosts`,
    );
  for (const r of [a, b, c]) assert.equal(r.ingest.stats.lostInStream, 0, `${r.name} reports no loss`);
  await leave(c);
  await waitSettled([a, b], 'the two left to share the partitions again');
});

test('a replica killed mid-stream: its partitions move within the lease time, nothing is lost, duplicates only of what it had not acked, no loss reported', async () => {
  const [a, b] = replicas as [Replica, Replica];
  const c = await replica('c2');
  await waitFor(
    'three replicas to share the partitions',
    () => settled([a, b, c]) && [a, b, c].every((r) => r.ingest.held().length >= 4),
  );
  const hosts = Array.from({ length: 20 }, (_, i) => `kill-${i}`);
  const batch = (round: number) => hosts.map((h, i) => execEvent(h, 1000 * round + i, ['/bin/true']));
  const first = batch(1);
  await publish(first);
  await waitFor('the first round stored', async () => (await storedIds('kill-')).size === first.length);
  // Mid-stream: a round in flight as it dies.
  const second = batch(2);
  const publishing = publish(second);
  await kill(c);
  await publishing;
  await waitSettled([a, b], 'the survivors to take the dead one’s partitions');
  const third = batch(3);
  await publish(third);
  const all = [...first, ...second, ...third];
  await waitFor('every event stored', async () => (await storedIds('kill-')).size === all.length, 60_000);
  const stored = await storedIds('kill-');
  for (const [id, n] of stored)
    if (n > 1) assert.ok(c.seen.has(id), `event ${id} stored ${n} times though the dead replica never saw it`);
  const twice = [...a.seen.keys()].filter((id) => b.seen.has(id));
  assert.deepEqual(twice, [], 'the survivors never saw one event both');
  for (const r of [a, b]) assert.equal(r.ingest.stats.lostInStream, 0, `${r.name} reports no loss`);
});

test('a two-event detection fires when both events reach one replica, not across a hand-over; the giver forgets the host', async () => {
  const [a, b] = replicas as [Replica, Replica];
  const host = 'two-step-host';
  const owner = a.ingest.reads(host) ? a : b;
  const other = owner === a ? b : a;
  assert.ok(owner.ingest.held().includes(partitionOfHost(host, P)));
  // Both steps while one replica reads the host: it fires.
  await publish([step(host, 10, 'step1', 1), step(host, 10, 'step2', 2)]);
  await waitFor('the owner fires', () => owner.alerts.some((x) => x.host === host && x.ruleId === 'test.two-step'));
  // Step 1 of another process, then the owner leaves: the partition moves, step 2 reaches the other.
  const s1 = step(host, 11, 'step1', 1);
  await publish([s1]);
  await waitFor('the owner sees step 1', () => owner.seen.has(s1.id));
  assert.ok(owner.engine.stateStats.processes > 0);
  await leave(owner);
  assert.equal(owner.engine.stateStats.processes, 0, 'the replica that gave the host up keeps no state of it');
  await waitSettled([other], 'the other to hold every partition');
  const s2 = step(host, 11, 'step2', 2);
  await publish([s2]);
  await waitFor('the other sees step 2', () => other.seen.has(s2.id));
  const fired = other.alerts.filter((x) => x.host === host);
  assert.deepEqual(fired, [], 'a detection whose two events straddle a hand-over does not fire (docs/architecture.md)');
  // A host that names a partition itself (a five-token subject the server does not map) is refused.
  const wrong = (partitionOfHost(host, P) + 1) % P;
  const forged = step(host, 12, 'step1', 1);
  await pub.jetstream().publish(`vigil.events.${host}.${wrong}.exec`, JSON.stringify(forged));
  await waitFor('the forged partition refused', () => (other.ingest.stats.rejects['partition-mismatch'] ?? 0) === 1);
  assert.ok(!other.seen.has(forged.id), 'its detections never saw it');
  const kv = await pub.jetstream().views.kv(CONTROL_PLANE_BUCKET);
  assert.ok((await kv.get('ingest')) === null, 'no single-control-plane lease was taken');
});

/** A `vigil control-plane` process on the mapped NATS; `--clickhouse` at a port nobody listens on (storage retried). */
async function controlPlane(name: string, extra: string[]) {
  const p = startVigil([
    'control-plane',
    ...(extra.includes('--clickhouse') ? [] : ['--data-dir', join(dir, name)]),
    '--nats',
    nats.url,
    '--api-port',
    String(await freePort()),
    '--api-token-file',
    join(dir, `${name}-token`),
    ...extra,
  ]);
  const said = () => p.logs.join('').replace(/\s*\n ›\s+/g, ' ');
  return { ...p, said };
}

test('a single control plane beside live replicas refuses clearly', async () => {
  assert.ok(replicas.length > 0, 'a replica runs');
  const single = await controlPlane('single', []);
  await waitFor('the single control plane to exit', () => single.child.exitCode !== null, 60_000).catch(
    async (err: Error) => {
      await single.stop();
      throw new Error(`${err.message}: it runs beside the replicas\n${single.said().slice(-2000)}`);
    },
  );
  assert.notEqual(single.child.exitCode, 0);
  assert.match(single.said(), /another control plane reads this NATS's events stream/);
  assert.match(single.said(), /need a ClickHouse server and --replicas on every one/);
});

test('two `vigil control-plane --replicas` on one ClickHouse server URL both run, each reading a share', async () => {
  for (const r of [...replicas]) await leave(r);
  const url = `http://127.0.0.1:${await freePort()}`;
  const one = await controlPlane('rep-1', ['--clickhouse', url, '--replicas']);
  const listening = (cp: typeof one) =>
    waitFor('API listening', () => cp.said().includes('API listening'), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${cp.said().slice(-3000)}`);
    });
  let two: typeof one | null = null;
  try {
    await listening(one);
    assert.match(one.said(), /reading 16 of 16 partitions as a replica/);
    two = await controlPlane('rep-2', ['--clickhouse', url, '--replicas']);
    await listening(two);
    // The first gives half up to the second at a lease renewal; the second takes them.
    await waitFor(
      'the first to give partitions up and the second to take them',
      () => one.said().includes('partition given up to another replica') && !!two?.said().includes('partition taken'),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${one.said().slice(-3000)}\n----\n${two?.said().slice(-3000)}`);
    });
    assert.equal(one.child.exitCode, null);
    assert.equal(two.child.exitCode, null);
  } finally {
    await two?.stop();
    await one.stop();
  }
});

test('events the server did not map to a partition are reported, not silently left unread', async () => {
  const plainDir = tempDir('partitions-unmapped');
  const plain = await startLocalNats({ dataDir: plainDir, port: await freePort(), log });
  const nc = await connect({ servers: plain.url });
  try {
    await (await nc.jetstreamManager()).streams.add({ name: 'VIGIL_EVENTS', subjects: ['vigil.events.>'] });
    const ingest = new PartitionedIngest(nc.jetstream(), store.writer, {
      batchSize: 100,
      log,
      streams: { maxAgeHours: 1, maxBytes: 64 * 1024 * 1024 },
      ttlSeconds: TTL_SECONDS,
      kvReplicas: 1,
      describe: 'the test store',
    });
    await ingest.start();
    try {
      assert.equal(await ingest.checkUnmapped(), 0);
      const ev = execEvent('unmapped-host', 1, ['/bin/true']);
      await nc.jetstream().publish(eventSubject(ev.host, ev.kind), JSON.stringify(ev));
      assert.equal(await ingest.checkUnmapped(), 1);
      assert.equal(ingest.stats.consumer.healthy, false);
      assert.match(ingest.stats.consumer.problem ?? '', /not mapped to a partition.*partition\(16,1\)/);
    } finally {
      await ingest.stop();
    }
  } finally {
    await nc.close();
    await plain.stop();
  }
});

test("the mapping in an operator-mode account JWT's `mappings` claim partitions as the server configuration does", async () => {
  const v2 = { algorithm: Algorithms.v2 };
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const open = { subs: -1, conn: -1, leaf: -1, imports: -1, exports: -1, data: -1, payload: -1, wildcards: true };
  const [[from, to]] = Object.entries(partitionedEventsMapping(P)) as [[string, string]];
  const accountJwt = await encodeAccount(
    'VIGIL',
    account,
    {
      limits: open,
      // The claim nats-server reads (jwt v2 `mappings`); @nats-io/jwt's types do not name it.
      ...({ mappings: { [from]: [{ subject: to, weight: 100 }] } } as object),
    },
    { ...v2, signer: operator },
  );
  const opDir = tempDir('partitions-operator');
  const conf = join(opDir, 'nats.conf');
  writeFileSync(
    conf,
    `operator: ${JSON.stringify(await encodeOperator('op', operator, { system_account: system.getPublicKey() }, v2))}
system_account: ${system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${system.getPublicKey()}: ${JSON.stringify(await encodeAccount('SYS', system, { limits: open }, { ...v2, signer: operator }))}
  ${account.getPublicKey()}: ${JSON.stringify(accountJwt)}
}
`,
  );
  const server = await startLocalNats({ dataDir: opDir, port: await freePort(), log, configFile: conf });
  const user = createUser();
  const creds = fmtCreds(await encodeUser('u', user, account, {}, v2), user);
  const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(creds) });
  try {
    const sub = nc.subscribe('vigil.events.>', { max: 2 });
    await nc.flush();
    for (const host of ['hostA', 'gpu-node-7']) nc.publish(eventSubject(host, 'exec'), 'x');
    const got: string[] = [];
    for await (const m of sub) got.push(m.subject);
    assert.deepEqual(got, [
      `vigil.events.hostA.${partitionOfHost('hostA', P)}.exec`,
      `vigil.events.gpu-node-7.${partitionOfHost('gpu-node-7', P)}.exec`,
    ]);
  } finally {
    await nc.close();
    await server.stop();
  }
});
