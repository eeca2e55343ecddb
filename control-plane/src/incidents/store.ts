import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import {
  incidentSubject,
  SEVERITIES,
  type AlertV1,
  type IncidentQuery,
  type IncidentV1,
  type Severity,
} from '@vigil/schema';
import { clauseBuilder } from '../store/column-filter.js';
import { insertRows } from '../store/row-insert.js';
import { wellFormedJson } from '../store/well-formed-json.js';
import { backoffMs, OutageLog, pause } from '../store/outage.js';

const row = (i: IncidentV1) => ({
  id: i.id,
  version: i.version,
  host: i.host,
  job: i.job ?? '',
  status: i.status,
  severity: i.severity,
  severity_n: SEVERITIES.indexOf(i.severity),
  title: i.title,
  first_ts_ns: i.firstTs,
  last_ts_ns: i.lastTs,
  rules: i.rules,
  incident: wellFormedJson(i),
});

/** Incidents not resolved whose last activity is this recent are taken back at start. */
const RESTORE_LIMIT = 10_000;

/**
 * Where incident versions go: the incidents table (one row per version) and JetStream
 * (vigil.incidents.<host>, message id `<id>-<version>` so a retried publish is no duplicate). Saves are
 * queued in order and retried until stored or until the store stops; reads take each id's newest version.
 */
export class IncidentStore {
  private queue: IncidentV1[] = [];
  private flushing: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  private readonly outage: OutageLog;
  stats = { stored: 0, published: 0, lastError: null as string | null };

  constructor(
    private readonly writer: ClickHouseClient,
    private readonly reader: ClickHouseClient,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {
    this.outage = new OutageLog(log, {
      down: 'incidents not stored; retrying',
      still: 'incidents still not stored',
      up: 'incidents stored again',
    });
  }

  save(inc: IncidentV1): void {
    this.queue.push(inc);
    void this.flush();
  }

  /** Resolves once everything queued so far is stored (or the store stops). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    // Alerts of one batch of events come in one turn: their versions go together.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, 500);
      let stored = false;
      do {
        try {
          await insertRows(this.writer, 'incidents', batch.map(row));
          stored = true;
          this.outage.succeeded();
        } catch (err) {
          this.stats.lastError = (err as Error).message;
          this.outage.failed(err);
        }
      } while (!stored && (await pause(backoffMs(this.outage.failures), this.stopping.signal)));
      if (!stored) return;
      this.queue.splice(0, batch.length);
      this.stats.stored += batch.length;
      this.stats.lastError = null;
      await Promise.all(batch.map((i) => this.publish(i)));
    }
  }

  /** Never throws: the version stays stored; a consumer reads the next one. */
  private async publish(i: IncidentV1): Promise<void> {
    try {
      await this.js.publish(incidentSubject(i.host), JSON.stringify(i), { msgID: `${i.id}-${i.version}` });
      this.stats.published++;
    } catch (err) {
      this.log.warn({ err, 'incident.id': i.id }, 'incident not published');
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.flush();
    if (this.queue.length > 0)
      this.log.error({ 'incidents.unstored': this.queue.length }, 'stopping with incident versions not stored');
  }

  async get(id: string): Promise<IncidentV1 | null> {
    const rs = await this.reader.query({
      query: 'SELECT incident FROM incidents FINAL WHERE id = {id:String} LIMIT 1',
      query_params: { id },
      format: 'JSONEachRow',
    });
    const [r] = await rs.json<{ incident: string }>();
    return r ? (JSON.parse(r.incident) as IncidentV1) : null;
  }

  /** Newest activity first. */
  async list(f: IncidentQuery & { limit: number }): Promise<IncidentV1[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: f.limit };
    addIncidentFilters(f, where, params);
    const rs = await this.reader.query({
      query: `SELECT incident FROM incidents FINAL ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY last_ts_ns DESC LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return (await rs.json<{ incident: string }>()).map((r) => JSON.parse(r.incident) as IncidentV1);
  }

  /** The incidents that may still take alerts: not resolved, active within `windowNs` of `nowNs`. */
  async restorable(nowNs: bigint, windowNs: bigint): Promise<{ incidents: IncidentV1[]; alerts: AlertV1[] }> {
    const since = nowNs > windowNs ? nowNs - windowNs : 0n;
    const rs = await this.reader.query({
      query: `SELECT incident FROM incidents FINAL WHERE status != 'resolved' AND last_ts_ns >= {since:UInt64}
              ORDER BY last_ts_ns LIMIT {limit:UInt32}`,
      query_params: { since: since.toString(), limit: RESTORE_LIMIT },
      format: 'JSONEachRow',
    });
    const incidents = (await rs.json<{ incident: string }>()).map((r) => JSON.parse(r.incident) as IncidentV1);
    const ids = incidents.flatMap((i) => i.alerts.map((a) => a.id));
    return { incidents, alerts: await alertsByIds(this.reader, ids) };
  }
}

/** The incidents table's clause for each filter of the list. */
const addIncidentFilters = clauseBuilder<IncidentQuery>({
  status: { sql: 'status = {status:String}', emptyIsAny: true },
  severity: {
    sql: 'severity_n >= {sev:UInt8}',
    emptyIsAny: true,
    param: 'sev',
    value: (s: Severity) => SEVERITIES.indexOf(s),
  },
  host: { sql: 'host = {host:String}', emptyIsAny: true },
  job: { sql: 'job = {job:String}', emptyIsAny: true },
  rule: { sql: 'has(rules, {rule:String})', emptyIsAny: true },
  sinceNs: { sql: 'last_ts_ns >= {since:UInt64}', emptyIsAny: true, param: 'since' },
});

/** The alerts with these ids, newest count of each. */
export async function alertsByIds(ch: ClickHouseClient, ids: string[]): Promise<AlertV1[]> {
  if (ids.length === 0) return [];
  const rs = await ch.query({
    query: `SELECT alert FROM alerts WHERE id IN {ids:Array(String)} ORDER BY count DESC LIMIT 1 BY id`,
    query_params: { ids },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ alert: string }>()).map((r) => JSON.parse(r.alert) as AlertV1);
}
