/**
 * The WHERE clauses and query parameters of the filters `vigil events` and `vigil egress` share,
 * over the events table's columns. Values travel as ClickHouse query parameters, never in the SQL
 * text. A filter left out (undefined, or an empty string / zero time where none means "any") adds
 * nothing.
 */
export interface ColumnFilter {
  kind?: string | undefined;
  comm?: string | undefined;
  pid?: number | undefined;
  host?: string | undefined;
  job?: string | undefined;
  container?: string | undefined;
  uid?: number | undefined;
  exe?: string | undefined;
  sinceNs?: string | undefined;
  untilNs?: string | undefined;
}

/** Each filter's clause; `emptyIsAny`: an empty value ("", 0) is no filter, as the API has always read it. */
const CLAUSES: { [K in keyof ColumnFilter]-?: { sql: string; emptyIsAny: boolean } } = {
  kind: { sql: 'kind = {kind:String}', emptyIsAny: true },
  comm: { sql: 'comm = {comm:String}', emptyIsAny: false },
  pid: { sql: 'pid = {pid:UInt32}', emptyIsAny: false },
  host: { sql: 'host = {host:String}', emptyIsAny: true },
  job: { sql: 'job = {job:String}', emptyIsAny: true },
  container: { sql: 'startsWith(container_id, {container:String})', emptyIsAny: true },
  uid: { sql: 'uid = {uid:UInt32}', emptyIsAny: false },
  exe: { sql: 'exe = {exe:String}', emptyIsAny: true },
  sinceNs: { sql: 'ts >= fromUnixTimestamp64Nano({sinceNs:Int64})', emptyIsAny: true },
  untilNs: { sql: 'ts < fromUnixTimestamp64Nano({untilNs:Int64})', emptyIsAny: true },
};

/** Adds the clauses of the filters `f` sets to `where`, and their values to `params`. */
export function addColumnFilters(f: ColumnFilter, where: string[], params: Record<string, unknown>): void {
  for (const [name, { sql, emptyIsAny }] of Object.entries(CLAUSES)) {
    const v = f[name as keyof ColumnFilter];
    if (v === undefined || (emptyIsAny && !v)) continue;
    where.push(sql);
    params[name] = v;
  }
}
