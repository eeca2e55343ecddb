import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { QueryError } from './query-error.js';

/**
 * What user SQL may do, decided on the engine's own parse of it. `readonly=1` alone is not enough
 * with the embedded engine: chDB writes `INTO OUTFILE` on its client side, where readonly never looks,
 * its scalar `file()` reads any path (as the control plane's user), and it runs every statement of a
 * multi-statement text. So a user query is taken through three steps, none of which runs it:
 *
 * 1. `formatQuery()` parses it, given as a bound parameter (never as SQL text): one statement or a
 *    syntax error, returned canonical (no comments, identifiers escaped). Only this text runs later.
 * 2. `EXPLAIN AST SELECT * FROM (<canonical>)`: a subquery is one SELECT (with WITH, UNION, INTERSECT,
 *    EXCEPT) and nothing else: no INSERT, SET, KILL, SYSTEM, DDL, and no INTO OUTFILE, FORMAT or
 *    query-level SETTINGS, which a subquery cannot carry. Anything else is a syntax error: refused.
 * 3. Every node of the tree dumped: node kinds from an allow-list (no SETTINGS), every function
 *    resolved through system.functions the way the engine resolves it (case-insensitive names,
 *    aliases, aggregate combinators) and refused where it reaches the host, the network or the
 *    engine's internals; table functions only from a list that makes rows from arguments; tables
 *    only Vigil's own and a few harmless system ones.
 *
 * The dump prints identifiers raw, so a back-quoted name with a line break adds lines of its own;
 * it cannot hide one: each real node starts its own line. Lines that are not nodes of the allowed
 * kinds are refused, and so is a dump whose children counts do not add up (or that came back cut).
 */

/**
 * Table functions that only make rows out of their arguments (all others reach files, hosts, other
 * tables); lower-case. `format` is also the string function; as a table function it would parse only
 * its literal argument (readonly=1 refuses it anyway).
 */
const SAFE_TABLE_FUNCTIONS = new Set([
  'numbers',
  'numbers_mt',
  'generate_series',
  'generateseries',
  'primes',
  'values',
  'view',
  'null',
  'format',
]);

/** Tables of the system database a user may read: the engine's catalogue and Vigil's own tables' sizes, not other sessions' queries, logs, users or settings. */
const SAFE_SYSTEM_TABLES = new Set([
  'one',
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'functions',
  'table_functions',
  'aggregate_function_combinators',
  'data_type_families',
  'time_zones',
  'databases',
  'tables',
  'columns',
  'parts',
]);

/** system.functions categories whose functions reach outside the query: AI providers, dictionaries and their sources, the process's own memory, model files. */
const DENIED_CATEGORIES = new Set(['AI', 'Dictionary', 'Embedded Dictionary', 'Introspection', 'Machine Learning']);

/** Functions that read files, server configuration or other sessions, write to Keeper, or only stall the user session. */
const DENIED_FUNCTIONS = new Set([
  'file',
  'getServerSetting',
  'getClientHTTPHeader',
  'showCertificate',
  'catboostEvaluate',
  'joinGet',
  'joinGetOrNull',
  'getMacro',
  'generateSerialID',
  'fuzzQuery',
  'logTrace',
  'sleep',
  'sleepEachRow',
  'zookeeperSessionUptime',
]);

/** Functions the parser writes that system.functions does not list. */
const PARSER_FUNCTIONS = new Set(['lambda', 'exists']);

/** The nodes a SELECT's syntax tree is made of. */
const NODE_KINDS = new Set([
  'SelectWithUnionQuery',
  'SelectIntersectExceptQuery',
  'SelectQuery',
  'ExpressionList',
  'Subquery',
  'WithElement',
  'TablesInSelectQuery',
  'TablesInSelectQueryElement',
  'TableExpression',
  'TableJoin',
  'ArrayJoin',
  'TableIdentifier',
  'Identifier',
  'Literal',
  'Function',
  'Asterisk',
  'QualifiedAsterisk',
  'OrderByElement',
  'InterpolateElement',
  'WindowDefinition',
  'WindowListElement',
  'SampleRatio',
  'ColumnsRegexpMatcher',
  'ColumnsListMatcher',
  'QualifiedColumnsRegexpMatcher',
  'QualifiedColumnsListMatcher',
  'ColumnsTransformerList',
  'ColumnsExceptTransformer',
  'ColumnsReplaceTransformer',
  'ColumnsReplaceTransformer::Replacement',
  'ColumnsApplyTransformer',
]);

interface FunctionEntry {
  name: string;
  canonical: string;
  aggregate: boolean;
  categories: string[];
}

/** What the engine knows by name, read once per session from its own system tables. */
export interface SqlCatalog {
  exact: Map<string, FunctionEntry>;
  /** Case-insensitive functions by lower-case name. */
  folded: Map<string, FunctionEntry[]>;
  /** Lower-case. */
  tableFunctions: Set<string>;
  /** Longest first. */
  combinators: string[];
  /** Lower-case, other than the session's current database. */
  otherDatabases: Set<string>;
}

const catalogs = new WeakMap<ClickHouseClient, Promise<SqlCatalog>>();

async function text(
  client: ClickHouseClient,
  query: string,
  settings: ClickHouseSettings,
  params?: Record<string, unknown>,
): Promise<string> {
  const r = await client.exec({
    query,
    clickhouse_settings: { ...settings, default_format: 'TabSeparatedRaw' },
    ...(params ? { query_params: params } : {}),
  });
  const chunks: Buffer[] = [];
  for await (const c of r.stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

async function rows<T>(client: ClickHouseClient, query: string, settings: ClickHouseSettings): Promise<T[]> {
  const r = await client.exec({ query, clickhouse_settings: { ...settings, default_format: 'JSONEachRow' } });
  const chunks: Buffer[] = [];
  for await (const c of r.stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

async function loadCatalog(client: ClickHouseClient, settings: ClickHouseSettings): Promise<SqlCatalog> {
  const fns = await rows<{
    name: string;
    alias_to: string;
    case_insensitive: number;
    is_aggregate: number;
    categories: string;
  }>(client, 'SELECT name, alias_to, case_insensitive, is_aggregate, categories FROM system.functions', settings);
  const exact = new Map<string, FunctionEntry>();
  const folded = new Map<string, FunctionEntry[]>();
  for (const f of fns) {
    const e: FunctionEntry = {
      name: f.name,
      canonical: f.alias_to || f.name,
      aggregate: Boolean(f.is_aggregate),
      categories: f.categories
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    };
    exact.set(f.name, e);
    if (f.case_insensitive) folded.set(f.name.toLowerCase(), [...(folded.get(f.name.toLowerCase()) ?? []), e]);
  }
  const names = async (q: string) => (await rows<{ name: string }>(client, q, settings)).map((r) => r.name);
  return {
    exact,
    folded,
    tableFunctions: new Set((await names('SELECT name FROM system.table_functions')).map((n) => n.toLowerCase())),
    combinators: (await names('SELECT name FROM system.aggregate_function_combinators')).sort(
      (a, b) => b.length - a.length,
    ),
    otherDatabases: new Set(
      (await names('SELECT name FROM system.databases WHERE name != currentDatabase()')).map((n) => n.toLowerCase()),
    ),
  };
}

function catalogOf(client: ClickHouseClient, settings: ClickHouseSettings): Promise<SqlCatalog> {
  let c = catalogs.get(client);
  if (!c) {
    c = loadCatalog(client, settings);
    catalogs.set(client, c);
    c.catch(() => catalogs.delete(client));
  }
  return c;
}

/** Every entry the engine could mean by `name`: exact, case-folded, or an aggregate with combinators (`countIf`, `sumArrayOrNull`). */
function resolve(cat: SqlCatalog, name: string): FunctionEntry[] {
  const direct = [cat.exact.get(name), ...(cat.folded.get(name.toLowerCase()) ?? [])].filter(
    (e): e is FunctionEntry => e !== undefined,
  );
  if (direct.length > 0) return direct;
  for (const c of cat.combinators) {
    if (name.length <= c.length || !name.endsWith(c)) continue;
    const base = resolve(cat, name.slice(0, -c.length)).filter(
      (e) => e.aggregate || cat.exact.get(e.canonical)?.aggregate,
    );
    if (base.length > 0) return base;
  }
  return [];
}

const denied = (e: FunctionEntry | undefined): boolean =>
  e !== undefined &&
  (DENIED_FUNCTIONS.has(e.name) || e.name.startsWith('__') || e.categories.some((c) => DENIED_CATEGORIES.has(c)));

/** Why a function named in the tree may not run, or null. Table functions share the namespace: a name that is both is judged as both. */
export function functionProblem(cat: SqlCatalog, name: string): string | null {
  const lower = name.toLowerCase();
  if (cat.tableFunctions.has(lower) && !SAFE_TABLE_FUNCTIONS.has(lower))
    return `the table function ${name}() reaches beyond Vigil's tables`;
  const found = resolve(cat, name);
  if (found.some((e) => denied(e) || denied(cat.exact.get(e.canonical))))
    return `the function ${name}() reaches the host, the network or the engine's internals`;
  if (found.length === 0 && !SAFE_TABLE_FUNCTIONS.has(lower) && !PARSER_FUNCTIONS.has(name))
    return `unknown function ${name}()`;
  return null;
}

/** Why a (possibly database-qualified) name may not be read, or null. A first part that is no database is a table or an alias. */
export function tableProblem(cat: SqlCatalog, name: string): string | null {
  const [db, table] = name.split('.');
  if (table === undefined || !cat.otherDatabases.has(db!.toLowerCase())) return null;
  if (db!.toLowerCase() === 'system' && SAFE_SYSTEM_TABLES.has(table.toLowerCase())) return null;
  return `${db}.${table} is not one of the tables user SQL may read`;
}

interface Node {
  depth: number;
  kind: string;
  rest: string;
  children: number;
}

function parseLine(line: string): Node | null {
  const m = /^( *)(\S+)(?: (.*))?$/.exec(line);
  if (!m) return null;
  const rest = m[3] ?? '';
  const children = /\(children (\d+)\)$/.exec(rest);
  return { depth: m[1]!.length, kind: m[2]!, rest, children: children ? Number(children[1]) : 0 };
}

/** True when the dump is one whole tree: each node followed by exactly its children, one level deeper. */
function wholeTree(nodes: (Node | null)[]): boolean {
  let i = 0;
  const visit = (depth: number): boolean => {
    const n = nodes[i++];
    if (!n || n.depth !== depth) return false;
    for (let c = 0; c < n.children; c++) if (!visit(depth + 1)) return false;
    return true;
  };
  return visit(0) && i === nodes.length;
}

/** The problems of a query's `EXPLAIN AST` dump, first ones first; empty when it may run. */
export function astProblems(cat: SqlCatalog, dump: string): string[] {
  const lines = dump.split('\n').filter((l) => l !== '');
  const nodes = lines.map(parseLine);
  const problems: string[] = [];
  for (const n of nodes) {
    if (!n) continue;
    if (!NODE_KINDS.has(n.kind)) {
      problems.push(
        n.kind === 'Set' ? 'a query may not change settings (SETTINGS)' : `${n.kind} is not part of a SELECT`,
      );
      continue;
    }
    const name = n.rest.split(' ')[0] ?? '';
    const problem =
      n.kind === 'Function'
        ? functionProblem(cat, name)
        : n.kind === 'TableIdentifier' || n.kind === 'Identifier'
          ? tableProblem(cat, name)
          : null;
    if (problem) problems.push(problem);
  }
  if (problems.length === 0 && !wholeTree(nodes)) problems.push('its syntax tree is too large or too odd to check');
  return problems;
}

/**
 * What the user is told for the parse errors a user commonly meets, from the engine's own words
 * (Syntax error (Multi-statements are not allowed), Empty query); null for any other.
 */
export function parseProblem(engineError: string): string | null {
  if (/Multi-statements are not allowed/.test(engineError))
    return 'one statement per query (leave out the ";" and what follows it)';
  if (/Empty query/.test(engineError)) return 'the query is empty';
  return null;
}

/**
 * Why a query that is not one plain SELECT was refused, where it is for an output clause. The
 * canonical text (formatQuery's) puts the top-level INTO OUTFILE and FORMAT clauses each at the
 * start of a line of their own, while anything nested is indented and line breaks inside names and
 * strings are escaped. This picks the message only: the refusal itself is the parser's (step 2).
 */
export function outputClauseProblem(canonical: string): string | null {
  const lines = canonical.split('\n');
  if (lines.some((l) => l.startsWith('INTO OUTFILE ')))
    return 'queries are read-only: INTO OUTFILE is not allowed (to keep a result, `vigil query --format csv "…" > FILE`)';
  if (lines.some((l) => l.startsWith('FORMAT ')))
    return 'FORMAT is not allowed: the API answers rows as JSON, and `vigil query --format table|csv|tsv|json` renders them';
  return null;
}

/**
 * The canonical text of a user query that may run (see above), or a QueryError: `refused` for what
 * user SQL may not do, not refused for a syntax error. Runs on the user session with its settings.
 */
export async function guardUserSql(
  client: ClickHouseClient,
  sql: string,
  settings: ClickHouseSettings,
): Promise<string> {
  const cat = await catalogOf(client, settings);
  let canonical: string;
  try {
    canonical = (await text(client, 'SELECT formatQuery({sql:String})', settings, { sql })).replace(/\n$/, '');
  } catch (cause) {
    const first = ((cause as Error).message ?? String(cause))
      .split('\n')[0]!
      .replace(/ In scope SELECT formatQuery.*$/, '')
      .trim();
    throw new QueryError(`query failed: ${parseProblem(first) ?? first}`, false, { cause });
  }
  let dump: string;
  try {
    dump = await text(client, `EXPLAIN AST SELECT * FROM (\n${canonical}\n)`, settings);
  } catch (cause) {
    throw new QueryError(
      `refused: ${outputClauseProblem(canonical) ?? 'queries are read-only: one SELECT (WITH, UNION, INTERSECT, EXCEPT) without INTO OUTFILE, FORMAT or SETTINGS'}`,
      true,
      { cause },
    );
  }
  const problems = astProblems(cat, dump);
  if (problems.length > 0)
    throw new QueryError(`refused: queries are read-only and reach only Vigil's tables: ${problems[0]}`, true);
  return canonical;
}
