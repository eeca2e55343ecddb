import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { JetStreamClient, KV } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod/v4';
import {
  CONTROL_PLANE_BUCKET,
  DEFAULT_INGEST_LEASE_SECONDS,
  INGEST_LEASE_KEY,
  REPLICA_KEY_PREFIX,
} from '@vigil/schema';

/** Another control plane holds the ingest lease of this NATS's events stream. */
export class IngestLeaseHeldError extends Error {
  override name = 'IngestLeaseHeldError';
}

/** Who holds the lease, as written in it. */
const LeaseHolder = z.object({
  instance: z.string(),
  /** The storage it writes to, as its own machine names it (an embedded one: host and data directory). */
  store: z.string(),
  machine: z.string(),
  pid: z.number(),
  since: z.string(),
});
export type LeaseHolder = z.infer<typeof LeaseHolder>;

export interface LeaseOptions {
  /** This control plane's storage: a lease written by the same embedded store is its own, left by a crash. */
  store: string;
  /** Whether a lease naming `store` may be taken over (embedded storage: its engine locks its directory). */
  sameStoreIsUs: boolean;
  /** The storage, as said to the user. */
  describe: string;
  replicas: number;
  ttlSeconds?: number;
  log: Logger;
  /** Called when the lease is lost to another control plane: ingestion must stop. */
  onLost: (holder: LeaseHolder) => void;
}

/** A holder whose entry is gone or unreadable by the time it is read. */
/** This process as a lease's holder: a fresh instance id, the storage it writes to, where it runs. */
export const leaseHolder = (store: string): LeaseHolder => ({
  instance: randomUUID(),
  store,
  machine: hostname(),
  pid: process.pid,
  since: new Date().toISOString(),
});

const UNKNOWN: LeaseHolder = { instance: 'unknown', store: '?', machine: '?', pid: 0, since: '?' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One control plane ingests an events stream: the ingest lease, a key in a JetStream key-value bucket
 * whose entries expire `ttlSeconds` after their last write, renewed at a third of that. The durable
 * consumer is shared by whoever reads it: two control planes would split every host's events, each
 * storing and detecting on its share (embedded storage: two partial copies; either way, per-host
 * detection state cut in two). A second control plane waits for the holder's lease to run out (a
 * crashed holder's does) and refuses to start when it is renewed. A lease left by the same embedded
 * store (a crash, then a restart) is taken over at once: the engine's lock on its directory already
 * keeps a second process off that store.
 */
export class IngestLease {
  private kv: KV | null = null;
  private revision = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly me: LeaseHolder;
  private readonly ttlMs: number;
  private renewMs: number;
  held = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: LeaseOptions,
  ) {
    this.ttlMs = (opts.ttlSeconds ?? DEFAULT_INGEST_LEASE_SECONDS) * 1000;
    this.renewMs = this.ttlMs / 3;
    this.me = leaseHolder(opts.store);
  }

  /** Takes the lease, waiting out one that is not renewed; throws IngestLeaseHeldError when it is. */
  async acquire(): Promise<void> {
    this.kv = await this.js.views.kv(CONTROL_PLANE_BUCKET, {
      history: 1,
      ttl: this.ttlMs,
      replicas: this.opts.replicas,
    });
    // The bucket keeps the TTL of whoever made it: a lapse is waited for by that TTL, and renewals
    // come at a third of the shorter, so this lease never lapses between them.
    const made = (await this.kv.status()).ttl;
    const lapseMs = made > 0 ? made : this.ttlMs;
    this.renewMs = Math.min(lapseMs, this.ttlMs) / 3;
    const deadline = Date.now() + lapseMs + 2000;
    let holder: LeaseHolder | null = null;
    let said = false;
    for (;;) {
      holder = await this.tryTake();
      if (holder === null) break;
      if (Date.now() > deadline) throw new IngestLeaseHeldError(refusal(holder, this.opts.describe));
      if (!said)
        this.opts.log.warn(
          { 'lease.holder': holder },
          `another control plane holds the ingest lease; waiting up to ${lapseMs / 1000} s for it to lapse`,
        );
      said = true;
      await sleep(500);
    }
    this.held = true;
    this.opts.log.info(
      { 'lease.instance': this.me.instance },
      'ingest lease taken: this control plane reads the events stream',
    );
    this.timer = setInterval(() => void this.renew(), this.renewMs);
  }

  /** Null when taken; else who holds it. */
  private async tryTake(): Promise<LeaseHolder | null> {
    const kv = this.kv!;
    const entry = await kv.get(INGEST_LEASE_KEY);
    if (entry === null || entry.operation !== 'PUT') {
      const replica = await this.replica();
      if (replica) return replica;
      try {
        this.revision = await kv.create(INGEST_LEASE_KEY, JSON.stringify(this.me));
        return null;
      } catch {
        return (await this.holder()) ?? UNKNOWN;
      }
    }
    const holder = parseHolder(entry.string());
    if (holder && this.opts.sameStoreIsUs && holder.store === this.me.store) {
      this.revision = await kv.update(INGEST_LEASE_KEY, JSON.stringify(this.me), entry.revision);
      this.opts.log.warn({ 'lease.holder': holder }, 'taking over the ingest lease this store left (a crash)');
      return null;
    }
    return holder ?? UNKNOWN;
  }

  /** A live replica of a partitioned control plane (PartitionLeases) on this stream, if any. */
  private async replica(): Promise<LeaseHolder | null> {
    for await (const key of await this.kv!.keys(`${REPLICA_KEY_PREFIX}*`)) {
      const e = await this.kv!.get(key);
      if (e && e.operation === 'PUT') return parseHolder(e.string()) ?? UNKNOWN;
    }
    return null;
  }

  private async holder(): Promise<LeaseHolder | null> {
    const e = await this.kv!.get(INGEST_LEASE_KEY);
    return e && e.operation === 'PUT' ? parseHolder(e.string()) : null;
  }

  /** Renews; a lease found taken by another is lost (said once, then onLost); NATS away is retried. */
  private async renew(): Promise<void> {
    if (!this.held) return;
    try {
      this.revision = await this.kv!.update(INGEST_LEASE_KEY, JSON.stringify(this.me), this.revision);
    } catch (err) {
      const holder = await this.holder().catch(() => undefined);
      if (holder === undefined) {
        this.opts.log.warn({ err }, 'renewing the ingest lease failed (NATS away?); retrying');
        return;
      }
      if (holder === null) {
        // Lapsed while NATS was away, and nobody took it: ours again.
        this.revision = await this.kv!.create(INGEST_LEASE_KEY, JSON.stringify(this.me)).catch(() => 0);
        if (this.revision > 0) return;
      }
      if (holder && holder.instance === this.me.instance) return;
      this.held = false;
      this.stopTimer();
      const other = holder ?? UNKNOWN;
      this.opts.log.error(
        { 'lease.holder': other },
        'the ingest lease was lost to another control plane: ingestion stops',
      );
      this.opts.onLost(other);
    }
  }

  /** Gives the lease up (a clean stop): the next control plane starts at once. */
  async release(): Promise<void> {
    this.stopTimer();
    if (!this.held) return;
    this.held = false;
    await this.kv?.delete(INGEST_LEASE_KEY, { previousSeq: this.revision }).catch(() => undefined);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function parseHolder(s: string): LeaseHolder | null {
  try {
    return LeaseHolder.safeParse(JSON.parse(s)).data ?? null;
  } catch {
    return null;
  }
}

/** The refusal, saying who holds the stream and what to do. */
export function refusal(holder: LeaseHolder, mine: string): string {
  return (
    `another control plane reads this NATS's events stream (pid ${holder.pid} on ${holder.machine}, storage ${holder.store}, since ${holder.since}), ` +
    `and renews its lease: a second one (storage ${mine}) would take half of every host's events, storing and detecting on its half only. ` +
    'Stop the other, or give this one its own NATS. Replicas of one control plane need a ClickHouse server and --replicas on every one (docs/architecture.md, "Control-plane replicas").'
  );
}
