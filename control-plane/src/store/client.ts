import { mkdirSync } from 'node:fs';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ErrorLogParams,
  type Logger as ClientLogger,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import { createChdbConnection, type ChdbExtension } from 'chdb/connection';
import type { Logger } from 'pino';
import { DataDirGuard } from './data-dir-guard.js';

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;

export type StorageTarget = { kind: 'embedded'; dataDir: string } | { kind: 'server'; url: string };

export class StorageError extends Error {
  override name = 'StorageError';
}

export interface StorageClients {
  /** Migrations and inserts. */
  writer: ClickHouseClient;
  /** The control plane's own reads (events and alerts for the API, heartbeats at start). */
  reader: ClickHouseClient;
  /** Heartbeat inserts: apart from the events' writer, so that a flood of them holds no event up. */
  heartbeats: ClickHouseClient;
  /**
   * User SQL (`vigil query`, SQL detections): read-only and bounded (readonly-query.ts), settings
   * that stay with its session, and so does what chDB carries over from a failed query.
   */
  user: ClickHouseClient;
  /**
   * What makes an insert that succeeded not kept, checked after each one before acking (the embedded
   * engine's data directory gone: see DataDirGuard); null when there is none. A server keeps its own.
   */
  notKept: () => string | null;
  close: () => Promise<void>;
}

/**
 * The embedded engine's own session behind a client, for what @clickhouse/client's Connection
 * contract does not carry: a result streamed chunk by chunk (the client's `exec` hands chDB's whole
 * result over as one buffer). Absent for a server, whose HTTP response already streams.
 */
const chdbSessions = new WeakMap<ClickHouseClient, ChdbExtension>();
export const chdbSessionOf = (client: ClickHouseClient): ChdbExtension | undefined => chdbSessions.get(client);

/**
 * @clickhouse/client's own log, into ours as single JSON lines. Its errors are those of a request
 * whose caller gets the same error and says what it means (once per outage, see outage.ts): debug
 * here, or a server that is down would print a multi-line dump per try on the console.
 */
function clientLog(log: Logger | undefined): NonNullable<Parameters<typeof createClient>[0]>['log'] {
  if (!log) return { level: ClickHouseLogLevel.OFF };
  const l = log.child({ component: 'clickhouse-client' });
  const fields = (p: LogParams, err?: Error) => ({ 'clickhouse.module': p.module, ...(err ? { err } : {}) });
  class PinoClientLog implements ClientLogger {
    trace(p: LogParams): void {
      l.trace(fields(p), p.message);
    }
    debug(p: LogParams): void {
      l.debug(fields(p), p.message);
    }
    info(p: LogParams): void {
      l.debug(fields(p), p.message);
    }
    warn(p: WarnLogParams): void {
      l.warn(fields(p, p.err), p.message);
    }
    error(p: ErrorLogParams): void {
      l.debug(fields(p, p.err), p.message);
    }
  }
  return {
    LoggerClass: PinoClientLog,
    level: l.isLevelEnabled('debug') ? ClickHouseLogLevel.DEBUG : ClickHouseLogLevel.WARN,
  };
}

/**
 * Clients for chDB in process (default) or a ClickHouse server; same SQL either way. Each gets its own
 * session: chDB applies per-query settings as `SET` on the session, so the `readonly=1` and the limits
 * of a user query would otherwise stick to the inserts and to the API's own reads. The client
 * library's own log goes to `log` (nowhere without one: its errors reach the callers anyway).
 */
export function createStorageClients(target: StorageTarget, log?: Logger): StorageClients {
  const make = (): ClickHouseClient => {
    if (target.kind === 'server') {
      return createClient({ url: target.url, request_timeout: 30_000, log: clientLog(log) });
    }
    // chdb implements @clickhouse/client-common's Connection; @clickhouse/client bundles its own copy
    // of those types, identical in shape but distinct to TypeScript.
    let chdb: ReturnType<typeof createChdbConnection>;
    try {
      chdb = createChdbConnection({ path: target.dataDir });
    } catch (cause) {
      // The engine locks its directory (its `status` file): a second process on it fails here.
      throw new StorageError(
        `cannot open the embedded storage in ${target.dataDir}: another control plane has it open (one process per data directory: stop it, or give this one its own --data-dir), or it is unreadable (${(cause as Error).message})`,
        { cause },
      );
    }
    const client = createClient({ connection: chdb as unknown as ClientConnection, log: clientLog(log) });
    chdbSessions.set(client, chdb.chdb);
    return client;
  };
  let guard: DataDirGuard | null = null;
  if (target.kind === 'embedded') {
    try {
      mkdirSync(target.dataDir, { recursive: true });
    } catch (cause) {
      throw new StorageError(`cannot create the data directory ${target.dataDir}: ${(cause as Error).message}`, {
        cause,
      });
    }
    guard = new DataDirGuard(target.dataDir);
  }
  const writer = make();
  const reader = make();
  const heartbeats = make();
  const user = make();
  return {
    writer,
    reader,
    heartbeats,
    user,
    notKept: () => guard?.problem() ?? null,
    close: async () => {
      await user.close();
      await heartbeats.close();
      await reader.close();
      await writer.close();
    },
  };
}

export const describeTarget = (t: StorageTarget): string =>
  t.kind === 'server' ? t.url.replace(/\/\/[^@/]*@/, '//***@') : `chdb:${t.dataDir}`;
