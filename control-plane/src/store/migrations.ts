import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 4)),
      name: f.replace(/\.sql$/, ''),
      sql: readFileSync(join(dir, f), 'utf8'),
    }));
}

/**
 * Applies, in order, the migrations not yet recorded in schema_migrations. Returns those applied.
 * `signal` ends a wait on a server that does not answer when the process is told to stop.
 */
export async function migrate(
  client: ClickHouseClient,
  migrations = loadMigrations(),
  signal?: AbortSignal,
): Promise<string[]> {
  const abort = signal ? { abort_signal: signal } : {};
  await client.command({
    ...abort,
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, applied_at DateTime DEFAULT now())
            ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await client.query({ ...abort, query: 'SELECT version FROM schema_migrations', format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await client.command({ ...abort, query: m.sql });
    await client.insert({
      ...abort,
      table: 'schema_migrations',
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    });
    applied.push(m.name);
  }
  return applied;
}
