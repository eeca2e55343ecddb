/**
 * The WHERE clauses and query parameters of the API's filters: those `vigil events` and `vigil egress`
 * share over the events table's columns, and a builder for other tables' filters. Values travel as ClickHouse query parameters, never in the SQL
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

/** How one filter becomes a clause: its SQL, whether an empty value means "any", and its parameter. */
export interface ClauseSpec {
  sql: string;
  emptyIsAny: boolean;
  /** The query parameter's name, when it is not the filter's own. */
  param?: string;
  /** The parameter's value from the filter's, when they differ. */
  value?: (v: never) => unknown;
}

/**
 * A function that adds the clauses of the filters an object sets to `where`, and their values to
 * `params`, from one table of clauses; filters with no clause are ignored.
 */
export function clauseBuilder<F extends object>(
  clauses: { [K in keyof F]?: ClauseSpec },
): (f: F, where: string[], params: Record<string, unknown>) => void {
  return (f, where, params) => {
    for (const [name, spec] of Object.entries(clauses) as [keyof F & string, ClauseSpec][]) {
      const v = f[name];
      if (v === undefined || (spec.emptyIsAny && !v)) continue;
      where.push(spec.sql);
      params[spec.param ?? name] = spec.value ? spec.value(v as never) : v;
    }
  };
}

/** Each filter's clause; `emptyIsAny`: an empty value ("", 0) is no filter, as the API has always read it. */
const CLAUSES: { [K in keyof ColumnFilter]-?: ClauseSpec } = {
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

/** Adds the clauses of the event filters `f` sets to `where`, and their values to `params`. */
export const addColumnFilters = clauseBuilder<ColumnFilter>(CLAUSES);
