/**
 * Incidents under a real control plane (nats-server with JetStream, embedded chDB): alerts raised from
 * events published on NATS form one incident whose every version is stored and published once on
 * vigil.incidents.<host>; the API answers hostile input with a clear 400, 404 or 409, never a crash.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import {
  eventSubject,
  IncidentDetail,
  IncidentV1,
  INCIDENTS_STREAM,
  incidentSubject,
  type AncestorV1,
  type StatusReport,
} from '@vigil/schema';
import type { RunningControlPlane } from '@vigil/control-plane';
import { execEvent, startIngestStack } from '../support/ingest-stack.js';
import { waitFor } from '../support/harness.js';

const HOST = 'inc-api';
let stack: { nc: NatsConnection; cp: RunningControlPlane; stop: () => Promise<void> };
const published: IncidentV1[] = [];
let id = '';

const anc = (pid: number, comm: string): AncestorV1 => ({ pid, comm, exe: `/usr/bin/${comm}`, argv: [comm] });
const call = async (path: string, body?: unknown) => {
  const res = await fetch(`${stack.cp.apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

before(async () => {
  stack = await startIngestStack('inc-api', {});
  stack.nc.subscribe(incidentSubject(HOST), { callback: (_e, m) => published.push(IncidentV1.parse(m.json())) });
});

after(async () => {
  await stack?.stop();
});

test('alerts of one tree become one incident; each version is stored and published once', async () => {
  const js = stack.nc.jetstream();
  // python (500) runs two shells, each a renamed miner.
  for (const [pid, shell, user] of [
    [601, 600, '44AFFq5kSiGBoZ'],
    [611, 610, '48edfHu7V9Z84Y'],
  ] as const) {
    const ev = execEvent(HOST, pid, ['/tmp/kworkerd', '-o', 'stratum+tcp://pool.supportxmr.com:3333', '-u', user]);
    ev.proc.ancestry = [anc(shell, 'bash'), anc(500, 'python3'), anc(1, 'systemd')];
    await js.publish(eventSubject(HOST, 'exec'), JSON.stringify(ev));
  }
  const inc = await waitFor(
    'one incident with both alerts',
    async () => {
      const { body } = await call(`/api/v1/incidents?host=${HOST}`);
      const list = body.incidents as IncidentV1[];
      return list.length === 1 && list[0]!.alertCount === 2 ? list[0] : undefined;
    },
    20_000,
    200,
  );
  id = inc.id;
  assert.equal(inc.root?.pid, 500);
  await waitFor('every version published', () => published.some((p) => p.version === inc.version), 10_000, 100);
  // Once each, in order (a repeat of an alert may add versions meanwhile).
  const versions = published.map((p) => p.version);
  assert.deepEqual(
    versions,
    Array.from({ length: versions.length }, (_, i) => i + 1),
  );
  const info = await (await stack.nc.jetstreamManager()).streams.info(INCIDENTS_STREAM);
  assert.equal(info.state.messages, published.length);
  const status = (await call('/api/v1/status')).body as unknown as StatusReport;
  assert.equal(status.controlPlane.incidents?.open, 1);
});

test('hostile input gets a clear error: bad filters and bodies 400, unknown ids 404, bad transitions 409', async () => {
  const badFilter = await call('/api/v1/incidents?status=pwned&limit=-1');
  assert.equal(badFilter.status, 400);
  assert.match(String(badFilter.body.error), /status/);
  assert.equal((await call(`/api/v1/incidents/${id}/ack`, { by: 'ann', extra: 1 })).status, 400);
  assert.equal((await call(`/api/v1/incidents/${id}/ack`, {})).status, 400);
  assert.equal((await call(`/api/v1/incidents/${id}/notes`, { by: 'ann', text: '' })).status, 400);
  const unknown = await call(`/api/v1/incidents/${encodeURIComponent("x' OR 1=1 --")}`);
  assert.equal(unknown.status, 404);
  assert.match(String(unknown.body.error), /no incident/);
  assert.equal((await call('/api/v1/incidents/nope/resolve', { by: 'ann' })).status, 404);
  assert.equal((await call(`/api/v1/incidents/${id}/resolve`, { by: 'ann', note: 'done' })).status, 200);
  const twice = await call(`/api/v1/incidents/${id}/ack`, { by: 'ann' });
  assert.equal(twice.status, 409);
  assert.match(String(twice.body.error), /is resolved: ack applies to open incidents only/);
  const noted = await call(`/api/v1/incidents/${id}/notes`, { by: 'bob', text: 'reimaged' });
  assert.equal(noted.status, 200);
  const detail = (await call(`/api/v1/incidents/${id}`)).body as IncidentDetail;
  // The answer is the contract's shape, field for field.
  assert.deepEqual(IncidentDetail.parse(detail), detail);
  assert.deepEqual(
    detail.tree.map((n) => [n.pid, n.ppid, n.involved]),
    [
      [500, 1, true],
      [600, 500, true],
      [601, 600, true],
      [610, 500, true],
      [611, 610, true],
    ],
  );
  assert.equal(detail.incident.status, 'resolved');
  assert.deepEqual(
    detail.incident.notes.map((n) => n.text),
    ['done', 'reimaged'],
  );
  assert.deepEqual((await call(`/api/v1/incidents?status=resolved&host=${HOST}`)).body.incidents as unknown[], [
    detail.incident,
  ]);
});
