import Fastify, { type FastifyInstance } from 'fastify';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod/v4';
import { EventFilter, eventMatches, queryEvents } from '../store/event-queries.js';
import { QueryBusyError, QueryError, readOnlyQuery, type QueryLimits } from '../store/readonly-query.js';
import { AlertFilter, queryAlerts } from '../alerts/queries.js';
import { egressSummary } from '../store/egress.js';
import type { ControlPlaneMetrics } from './metrics.js';
import type { AlertFollowers, LiveFollowers } from './alert-stream.js';
import { isLoopback, requestGuard } from './guard.js';
import { registerConsole } from './console-static.js';
import { respondRoute } from './respond-route.js';
import {
  EgressFilter,
  SEVERITIES,
  type DetectionsReport,
  type EventV1,
  type RespondRequest,
  type ResponseRecordV1,
  type StatusReport,
} from '@vigil/schema';

export interface ApiOptions {
  host: string;
  port: number;
  /**
   * Required from clients when set; mandatory when the API listens beyond loopback. The CLI's
   * commands always set one; in-process callers on loopback may leave it out.
   */
  token?: string;
  /** Host names clients may reach the API by, beyond loopback names and IP literals (see guard.ts). */
  allowedHosts?: string[];
  /** HTTPS (PEM contents); `clientAuth`: clients must present a certificate `ca` signed (mutual TLS). */
  tls?: ApiTls;
  /** The read-only session (see store/client.ts). */
  ch: ClickHouseClient;
  /** For user SQL (StorageClients.user). */
  userSql: ClickHouseClient;
  queryLimits: QueryLimits;
  status: () => StatusReport;
  followers: AlertFollowers;
  /** Followers of events as they are validated (`vigil events --follow`). */
  eventFollowers: LiveFollowers<EventV1>;
  detections: () => DetectionsReport;
  metrics: ControlPlaneMetrics;
  /** Manual response orders (`POST /api/v1/respond`), when the response part runs. */
  respond?: (req: RespondRequest) => Promise<ResponseRecordV1>;
  /** More routes, each registering its own (incidents, …). */
  routes?: ((app: FastifyInstance) => void)[];
}

export interface ApiTls {
  cert: string;
  key: string;
  ca?: string;
  clientAuth: boolean;
}

export class ApiConfigError extends Error {
  override name = 'ApiConfigError';
}

const MAX_SQL_CHARS = 100_000;
/** An empty query goes on to the engine's parse, which tells the user so (sql-guard.ts). */
const QueryBody = z.object(
  {
    sql: z
      .string({ error: 'body must be {"sql": "…"}' })
      .max(MAX_SQL_CHARS, `the query is longer than ${MAX_SQL_CHARS} characters`),
  },
  { error: 'body must be {"sql": "…"}' },
);

/** The API leaves loopback only behind a bearer token. */
export function checkApiBinding(host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw new ApiConfigError(`the API may listen on ${host} only with a token (set VIGIL_API_TOKEN)`);
  }
}

/** The HTTP API the CLI (and a UI) read through; the control plane owns the storage. */
export async function startApi(opts: ApiOptions): Promise<FastifyInstance> {
  checkApiBinding(opts.host, opts.token);
  // Closing destroys every connection left, kept-alive or half-sent: a client must not hold the stop.
  const https = opts.tls
    ? {
        https: {
          cert: opts.tls.cert,
          key: opts.tls.key,
          ...(opts.tls.ca ? { ca: opts.tls.ca } : {}),
          requestCert: opts.tls.clientAuth,
          rejectUnauthorized: opts.tls.clientAuth,
        },
      }
    : {};
  // One instance type either way: the routes never see whether the socket is TLS.
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    ...https,
  }) as unknown as FastifyInstance;
  // Live streams never end by themselves: they are told why and ended before the server closes.
  app.addHook('preClose', async () => {
    await Promise.all([opts.followers.close(), opts.eventFollowers.close()]);
  });
  app.addHook(
    'onRequest',
    requestGuard({
      bindHost: opts.host,
      ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}),
      ...(opts.token ? { token: opts.token } : {}),
    }),
  );
  // Liveness, without the token: it says nothing but that the API answers.
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/v1/events', async (req, reply) => {
    const f = EventFilter.safeParse(req.query);
    if (!f.success)
      return reply.code(400).send({ error: f.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    return { events: await queryEvents(opts.ch, f.data) };
  });
  // Server-sent events: one `data:` line per event the filter accepts, as the control plane validates it.
  app.get('/api/v1/events/stream', (req, reply) => {
    const f = EventFilter.safeParse(req.query);
    if (!f.success) {
      void reply.code(400).send({ error: f.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      return;
    }
    reply.hijack();
    opts.eventFollowers.follow(req.raw, reply.raw, (ev) => eventMatches(f.data, ev));
  });
  app.post('/api/v1/query', async (req, reply) => {
    const body = QueryBody.safeParse(req.body);
    if (!body.success)
      return reply.code(400).send({ error: body.error.issues[0]?.message ?? 'body must be {"sql": "…"}' });
    try {
      return await readOnlyQuery(opts.userSql, body.data.sql, opts.queryLimits);
    } catch (err) {
      if (err instanceof QueryError)
        return reply.code(err instanceof QueryBusyError ? 503 : err.refused ? 403 : 400).send({ error: err.message });
      throw err;
    }
  });
  // The firewall view of outbound TCP (`vigil egress`), from the conn events.
  app.get('/api/v1/egress', async (req, reply) => {
    const f = EgressFilter.safeParse(req.query);
    if (!f.success)
      return reply.code(400).send({ error: f.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    return egressSummary(opts.ch, f.data);
  });
  app.get('/api/v1/status', async () => opts.status());
  // Prometheus' scrape: the status's figures and this process's. Behind the token as the rest is.
  app.get('/metrics', async (_req, reply) => reply.type(opts.metrics.contentType).send(await opts.metrics.text()));
  app.get('/api/v1/alerts', async (req, reply) => {
    const f = AlertFilter.safeParse(req.query);
    if (!f.success)
      return reply.code(400).send({ error: f.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    return { alerts: await queryAlerts(opts.ch, f.data) };
  });
  // Server-sent events: one `data:` line per alert as it is raised (and per update of its count).
  app.get('/api/v1/alerts/stream', (req, reply) => {
    const f = AlertFilter.safeParse(req.query);
    if (!f.success) {
      void reply.code(400).send({ error: 'bad filter' });
      return;
    }
    const min = f.data.severity ? SEVERITIES.indexOf(f.data.severity) : 0;
    reply.hijack();
    opts.followers.follow(
      req.raw,
      reply.raw,
      (a) =>
        SEVERITIES.indexOf(a.severity) >= min &&
        (!f.data.rule || a.ruleId === f.data.rule) &&
        (!f.data.host || a.host === f.data.host),
    );
  });
  app.get('/api/v1/detections', async () => opts.detections());
  if (opts.respond) respondRoute(app, opts.respond);
  for (const add of opts.routes ?? []) add(app);
  // The web console (/ui): the page without the token, its data through the routes above.
  await registerConsole(app);
  app.setErrorHandler(async (err: Error, _req, reply) => {
    await reply.code(500).send({ error: err.message });
  });
  await app.listen({ host: opts.host, port: opts.port });
  return app;
}
