import type { FastifyInstance } from 'fastify';
import type { ClickHouseClient } from '@clickhouse/client';
import { IncidentFilter, IncidentNoteRequest, IncidentTransition } from '@vigil/schema';
import {
  type IncidentAction,
  IncidentNotFoundError,
  IncidentTransitionError,
  type IncidentManager,
} from '../incidents/manager.js';
import type { IncidentStore } from '../incidents/store.js';
import { incidentDetail } from '../incidents/detail.js';

export interface IncidentRoutesOptions {
  manager: IncidentManager;
  store: IncidentStore;
  ch: ClickHouseClient;
}

const problems = (issues: { path: PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ');

const ACTIONS: IncidentAction[] = ['ack', 'resolve', 'reopen'];

/** `/api/v1/incidents…`: list, detail, status transitions and notes. */
export function incidentRoutes(o: IncidentRoutesOptions) {
  /** The version in force: the manager's while it takes alerts, else the table's newest. */
  const find = async (id: string) => o.manager.current(id) ?? (await o.store.get(id));
  return (app: FastifyInstance): void => {
    app.get('/api/v1/incidents', async (req, reply) => {
      const f = IncidentFilter.safeParse(req.query);
      if (!f.success) return reply.code(400).send({ error: problems(f.error.issues) });
      await o.store.flush();
      return { incidents: await o.store.list(f.data) };
    });
    app.get<{ Params: { id: string } }>('/api/v1/incidents/:id', async (req, reply) => {
      const inc = await find(req.params.id);
      if (!inc) return reply.code(404).send({ error: `no incident ${JSON.stringify(req.params.id)}` });
      return incidentDetail(o.ch, inc);
    });
    for (const action of ACTIONS)
      app.post<{ Params: { id: string } }>(`/api/v1/incidents/:id/${action}`, async (req, reply) => {
        const body = IncidentTransition.safeParse(req.body ?? {});
        if (!body.success) return reply.code(400).send({ error: problems(body.error.issues) });
        return answer(reply, async () => o.manager.transition(req.params.id, action, body.data));
      });
    app.post<{ Params: { id: string } }>('/api/v1/incidents/:id/notes', async (req, reply) => {
      const body = IncidentNoteRequest.safeParse(req.body ?? {});
      if (!body.success) return reply.code(400).send({ error: problems(body.error.issues) });
      return answer(reply, async () => o.manager.note(req.params.id, body.data));
    });
  };

  /** The changed incident once stored; 404 for an unknown id, 409 for a transition its status refuses. */
  async function answer(
    reply: { code: (n: number) => { send: (b: unknown) => unknown } },
    change: () => Promise<unknown>,
  ) {
    try {
      const inc = await change();
      await o.store.flush();
      return { incident: inc };
    } catch (err) {
      if (err instanceof IncidentNotFoundError) return reply.code(404).send({ error: err.message });
      if (err instanceof IncidentTransitionError) return reply.code(409).send({ error: err.message });
      throw err;
    }
  }
}
