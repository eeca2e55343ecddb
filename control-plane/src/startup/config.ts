import type { KeyObject } from 'node:crypto';
import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import type { StorageTarget } from '../store/client.js';
import type { ExpectedGpuConfig } from '../detect/define.js';
import type { QueryLimits } from '../store/readonly-query.js';
import type { ConfigSource } from '../config/source.js';
import type { EnrollOptions } from '../enroll/service.js';
import type { ApiTls } from '../api/server.js';

export interface ControlPlaneConfig {
  storage: StorageTarget;
  /** vigil.yaml as loaded (and reloaded): outputs, responses, suppressions, incidents. Absent: its defaults. */
  config?: ConfigSource;
  nats: ConnectionOptions;
  /**
   * The Ed25519 key response orders are signed with (response/); the sensors check them with its
   * public half. Absent: no orders are sent, and `POST /api/v1/respond` says so.
   */
  responseKey?: KeyObject;
  /** The NATS account signing key and where hosts are kept: enables enrollment (`vigil up` sets it). */
  enroll?: EnrollOptions;
  /** The HTTP API: see ApiOptions (a token is optional here, on loopback only; the CLI always sets one). */
  api: { host: string; port: number; token?: string; allowedHosts?: string[]; tls?: ApiTls };
  /** A sensor whose last heartbeat is older than this is reported silent. */
  silentAfterSeconds?: number;
  /** Hosts whose heartbeats are tracked at most (DEFAULT_MAX_HOSTS); more are refused and counted. */
  maxHosts?: number;
  /** Events per insert at most (IngestOptions.batchSize). */
  batchSize?: number;
  /** The longest an event waits for company before it is stored (see IngestOptions.storeLingerMs). */
  storeLingerMs?: number;
  /** The longest a quiet spell's first message waits for those sent with it (IngestOptions.lingerMs). */
  detectLingerMs?: number;
  /** Processes expected to use GPUs, beyond installed software (see detect/builtin/gpu.ts). */
  expectedGpu?: ExpectedGpuConfig;
  /** Folders (or files) of custom detections: TypeScript/JavaScript modules, Sigma YAML, SQL. */
  detections?: string[];
  /** Repeats of (rule, host, process) inside this window update one alert. */
  alertThrottleSeconds?: number;
  streamMaxAgeHours?: number;
  /** The ingest lease's life without renewal (DEFAULT_INGEST_LEASE_SECONDS; see IngestLease). */
  ingestLeaseSeconds?: number;
  /**
   * Run as one of several replicas that share the events stream by host partition (a ClickHouse
   * server only; the NATS account maps events with partitionedEventsMapping(partitions)): see
   * PartitionedIngest. Absent: one control plane reads the whole stream under the ingest lease.
   */
  replicas?: { partitions?: number };
  /**
   * The events stream's size; without it, a quarter of the free space of the embedded data directory,
   * 64 MiB to 8 GiB (sizeEventStream). Given, it resizes an existing stream too.
   */
  streamMaxBytes?: number;
  /** Bounds on user SQL (`vigil query`, SQL detections) beyond the defaults (USER_QUERY_LIMITS). */
  queryLimits?: Partial<QueryLimits>;
  /** The processes run beside it (`vigil up`: nats-server and its JetStream, the sensor), for the status. */
  supervised?: () => object;
  log: Logger;
  /**
   * Told to stop while starting: startControlPlane stops what it started and throws
   * StepsAbortedError (from @vigil/schema) instead of waiting on parts that do not answer.
   */
  signal?: AbortSignal;
}
