import { mkdirSync } from 'node:fs';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export type StorageTarget = { kind: 'embedded'; dataDir: string } | { kind: 'server'; url: string };

export class StorageError extends Error {
  override name = 'StorageError';
}

/** One client for both: chDB in process (default) or a ClickHouse server. Same SQL either way. */
export function createStorageClient(target: StorageTarget): ClickHouseClient {
  if (target.kind === 'server') {
    return createClient({ url: target.url, request_timeout: 30_000, clickhouse_settings: { date_time_input_format: 'best_effort' } });
  }
  try {
    mkdirSync(target.dataDir, { recursive: true });
  } catch (cause) {
    throw new StorageError(`cannot create the data directory ${target.dataDir}: ${(cause as Error).message}`, { cause });
  }
  // chdb implements @clickhouse/client-common's Connection; @clickhouse/client bundles its own copy of
  // those types, identical in shape but distinct to TypeScript.
  const connection = createChdbConnection({ path: target.dataDir }) as unknown as ClientConnection;
  return createClient({ connection });
}

export const describeTarget = (t: StorageTarget): string => (t.kind === 'server' ? t.url.replace(/\/\/[^@/]*@/, '//***@') : `chdb:${t.dataDir}`);
