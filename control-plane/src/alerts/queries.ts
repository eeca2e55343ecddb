import type { ClickHouseClient } from '@clickhouse/client';
import { SEVERITIES, type AlertFilter, type AlertV1 } from '@vigil/schema';

/** `vigil alerts`' filters (the API's contract, in @vigil/schema). */
export { AlertFilter } from '@vigil/schema';

export async function queryAlerts(client: ClickHouseClient, f: AlertFilter): Promise<AlertV1[]> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: f.limit };
  if (f.sinceNs) {
    where.push('last_ts >= fromUnixTimestamp64Nano({since:Int64})');
    params.since = f.sinceNs;
  }
  if (f.severity) {
    where.push('severity_n >= {sev:UInt8}');
    params.sev = SEVERITIES.indexOf(f.severity);
  }
  if (f.rule) {
    where.push('rule_id = {rule:String}');
    params.rule = f.rule;
  }
  if (f.host) {
    where.push('host = {host:String}');
    params.host = f.host;
  }
  const rs = await client.query({
    query: `SELECT alert FROM (
              SELECT id, ts, alert FROM ${f.suppressed ? 'suppressed_alerts' : 'alerts'} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY count DESC LIMIT 1 BY id)
            ORDER BY ts DESC LIMIT {limit:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  return (await rs.json<{ alert: string }>()).map((r) => JSON.parse(r.alert) as AlertV1);
}
