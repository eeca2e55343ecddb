/**
 * Defaults shared by the CLI's flags, the control plane and the sensor: where Vigil keeps its data,
 * where its API and NATS listen, and the sensor's and control plane's tunables left to their default.
 */

/** The data directory when neither a flag nor VIGIL_DATA_DIR names one. */
export const DEFAULT_DATA_DIR = '/var/lib/vigil';
/** The API token's file in a data directory: what `vigil up` creates and the CLI reads. */
export const API_TOKEN_FILE = 'api-token';

/** The HTTP API: loopback unless told otherwise. */
export const DEFAULT_API_HOST = '127.0.0.1';
export const DEFAULT_API_PORT = 8787;
export const DEFAULT_API_URL = `http://${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`;

/** The nats-server `vigil up` starts, and the URL the sensor and control plane use without --nats. */
export const DEFAULT_NATS_PORT = 4222;
export const DEFAULT_NATS_URL = `nats://127.0.0.1:${DEFAULT_NATS_PORT}`;

/** The ingest lease's life without renewal: how long a crashed control plane's lease holds off the next. */
export const DEFAULT_INGEST_LEASE_SECONDS = 15;
/** Partitions of the host space when control-plane replicas share an events stream (partitionedEventsMapping). */
export const DEFAULT_PARTITIONS = 16;

/** A sensor whose last heartbeat is older than this is reported silent. */
export const DEFAULT_SILENT_AFTER_SECONDS = 30;

/** The sensor: aggregation window of the connect and GPU probes, disk kept while NATS is away, ancestors per event. */
export const DEFAULT_WINDOW_SECONDS = 5;
export const DEFAULT_SPOOL_MAX_MB = 1024;
export const DEFAULT_ANCESTRY_DEPTH = 16;

/**
 * How long the control plane waits for a sensor's answer to a response order before it records
 * `no-answer`; the order expires then too, so a sensor never acts on one already reported unanswered.
 */
export const DEFAULT_RESPONSE_ANSWER_SECONDS = 5;

/**
 * Outputs (vigil.yaml `outputs:`): a failed delivery is retried after this, doubling at each attempt
 * up to the cap; an output without its own maxAttempts (file) tries this many times before it
 * dead-letters the message.
 */
export const OUTPUT_RETRY_BASE_MS = 1000;
export const OUTPUT_RETRY_CAP_MS = 5 * 60_000;
export const OUTPUT_MAX_ATTEMPTS = 8;

/**
 * TLS (`vigil certs`): where it writes in a data directory, and how long what it makes stays valid;
 * rotation is a new certificate and a restart (docs/operations.md "TLS").
 */
export const TLS_DIR = 'tls';
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_CERT_DAYS = 825;
