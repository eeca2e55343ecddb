import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainPending } from 'chdb';
import { pino } from 'pino';
import type { EventV1 } from '@vigil/schema';
import { createStorageClients, type StorageClients } from '../../store/client.js';
import { insertEvents } from '../../store/event-insert.js';
import { migrate } from '../../store/migrations.js';
import { readOnlyQuery, type QueryResult } from '../../store/readonly-query.js';
import type { DetectionEngine } from '../engine.js';
import { CustomDetections } from './manager.js';
import type { SqlDetection } from './sql.js';

/**
 * A store of its own for checking and trying SQL detections offline: the embedded engine (chDB) in
 * a temporary directory, with the control plane's migrations, so a query meets the tables, columns
 * and functions it meets in production. Removed afterwards.
 */
export async function withScratchStore<T>(fn: (ch: StorageClients) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-scratch-'));
  const ch = createStorageClients({ kind: 'embedded', dataDir: dir });
  try {
    await migrate(ch.writer);
    return await fn(ch);
  } finally {
    await ch.close();
    // The engine binds one data directory per process: the next scratch store waits for this one to go.
    await drainPending();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Result columns the control plane reads from a SQL detection's rows, and the types it can read them as. */
const COLUMN_TYPES: { name: string; required: boolean; type: RegExp; as: string }[] = [
  { name: 'host', required: true, type: /String/, as: 'a String' },
  { name: 'pid', required: false, type: /^(Nullable\()?U?Int\d+/, as: 'an integer' },
  { name: 'evidence', required: false, type: /^Array\(/, as: 'an Array of event ids' },
  { name: 'reason', required: false, type: /String/, as: 'a String' },
];

/** What is wrong with a result's columns for a SQL detection, one line each. */
export function columnErrors(columns: QueryResult['columns']): string[] {
  const errors: string[] = [];
  for (const c of COLUMN_TYPES) {
    const found = columns.find((x) => x.name === c.name);
    if (!found) {
      if (c.required)
        errors.push(
          `no \`${c.name}\` column: each row is an alert for the host it names (columns: ${columns.map((x) => x.name).join(', ') || 'none'})`,
        );
    } else if (!c.type.test(found.type)) {
      errors.push(`\`${c.name}\` is ${found.type}; it must be ${c.as}`);
    }
  }
  return errors;
}

/**
 * Runs each SQL detection once, the way the control plane runs it (read-only, with the limits of a
 * user query), on an empty scratch store: the engine reports syntax errors, unknown tables, columns
 * and functions, and refused writes; the result's columns are checked against what alerts are made
 * of. Returns, per detection id, its errors (none when it would run).
 */
export async function dryRunSqlDetections(list: SqlDetection[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (list.length === 0) return out;
  await withScratchStore(async (ch) => {
    for (const d of list) {
      try {
        out.set(d.id, columnErrors((await readOnlyQuery(ch.user, d.sql)).columns));
      } catch (err) {
        out.set(d.id, [(err as Error).message]);
      }
    }
  });
  return out;
}

export interface SqlRun {
  id: string;
  alerts: number;
  /** Why the detection failed or which rows it could not make alerts of; null when it ran cleanly. */
  error: string | null;
}

/**
 * Stores the events in a scratch store as the control plane stores them (an event claiming a time
 * outside what storage keeps is stored at the time of the insert) and runs each SQL detection once
 * over them, its rows raised as alerts through `engine`, as the control plane raises them.
 */
export async function runSqlDetectionsOver(
  list: SqlDetection[],
  events: EventV1[],
  engine: DetectionEngine,
): Promise<SqlRun[]> {
  if (list.length === 0) return [];
  return withScratchStore(async (ch) => {
    await insertEvents(ch.writer, events);
    const runner = new CustomDetections([], engine, [], ch.user, pino({ level: 'silent' }));
    const runs: SqlRun[] = [];
    for (const d of list) {
      const alerts = await runner.runSql(d);
      runs.push({ id: d.id, alerts, error: runner.sqlErrors.get(d.id) ?? null });
    }
    return runs;
  });
}
