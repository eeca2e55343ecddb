import type { ClickHouseClient } from '@clickhouse/client';
import type { ResponseRecordV1 } from '@vigil/schema';
import { insertRows } from '../store/row-insert.js';
import { wellFormedJson } from '../store/well-formed-json.js';

export class ResponseStoreError extends Error {
  override name = 'ResponseStoreError';
}

const row = (r: ResponseRecordV1) => ({
  order_id: r.order.id,
  host: r.order.host,
  ts_ns: r.order.issuedTs,
  action: r.order.action,
  pid: r.order.pid,
  requested_by: r.order.requestedBy,
  incident_id: r.order.incidentId ?? '',
  alert_id: r.order.alertId ?? '',
  dry_run: r.order.dryRun ? 1 : 0,
  outcome: r.result?.outcome ?? '',
  version: r.result ? 1 : 0,
  record: wellFormedJson(r),
});

/** The `responses` table (migration 0020): each order as sent, then with its result. */
export class ResponseStore {
  constructor(
    private readonly writer: ClickHouseClient,
    private readonly reader: ClickHouseClient,
  ) {}

  async save(record: ResponseRecordV1): Promise<void> {
    try {
      await insertRows(this.writer, 'responses', [row(record)]);
    } catch (err) {
      throw new ResponseStoreError(`response ${record.order.id} not stored: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The newest records first, optionally of one host. */
  async list(o: { host?: string; limit: number }): Promise<ResponseRecordV1[]> {
    const rs = await this.reader.query({
      query: `SELECT record FROM (
                SELECT order_id, ts, record FROM responses ${o.host ? 'WHERE host = {host:String}' : ''}
                ORDER BY version DESC LIMIT 1 BY order_id)
              ORDER BY ts DESC LIMIT {limit:UInt32}`,
      query_params: { host: o.host ?? '', limit: o.limit },
      format: 'JSONEachRow',
    });
    return (await rs.json<{ record: string }>()).map((r) => JSON.parse(r.record) as ResponseRecordV1);
  }

  /**
   * The start time the newest event of `pid` on `host` carries (its exec, or any but an exit), or null
   * when none is stored: a manual order names the process it was told of, never a guess.
   */
  async startTsOf(host: string, pid: number): Promise<string | null> {
    const rs = await this.reader.query({
      query: `SELECT JSONExtractString(event, 'proc', 'startTs') AS start FROM events
              WHERE host = {host:String} AND pid = {pid:UInt32} AND kind != 'exit' AND start != ''
              ORDER BY ts DESC, kind = 'exec' DESC LIMIT 1`,
      query_params: { host, pid },
      format: 'JSONEachRow',
    });
    const [hit] = await rs.json<{ start: string }>();
    return hit?.start ?? null;
  }
}
