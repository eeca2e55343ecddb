import type { JetStreamClient, KV } from 'nats';
import type { Logger } from 'pino';
import {
  CONTROL_PLANE_BUCKET,
  DEFAULT_INGEST_LEASE_SECONDS,
  INGEST_LEASE_KEY,
  partitionLeaseKey,
  REPLICA_KEY_PREFIX,
  replicaKey,
} from '@vigil/schema';
import { IngestLeaseHeldError, leaseHolder, refusal, type LeaseHolder } from './ingest-lease.js';

/** What owns the partitions this replica holds: starts reading one, or stops (stored what it read). */
export interface PartitionOwner {
  take(partition: number): Promise<void>;
  /** `lost`: the lease was found taken by another (this replica was away); else given up to rebalance. */
  give(partition: number, lost: boolean): Promise<void>;
}

export interface PartitionLeaseOptions {
  partitions: number;
  ttlSeconds?: number;
  /** The bucket's replicas (its stream's, as the other streams'). */
  replicas: number;
  /** The storage, as said to the user (in a refusal). */
  describe: string;
  log: Logger;
}

/**
 * The partitions of the events stream this replica reads, leased in the control plane's key-value
 * bucket: one key per partition (`ingest-p<k>`), whose entries expire `ttlSeconds` after their last
 * write, and one presence key per live replica (`replica-<instance>`). Every third of the TTL each
 * replica renews its presence and its leases, counts the live replicas, and holds its share,
 * ceil(partitions / replicas): above it, it gives partitions up (stopped first, then released, so the
 * next holder starts where it stopped); below it, it takes free ones. A replica that dies stops
 * renewing: its presence and leases lapse within the TTL and the others take its partitions. The
 * shares add up to at least `partitions`, so every partition has a holder once the view settles.
 */
export class PartitionLeases {
  private kv: KV | null = null;
  private readonly held = new Map<number, number>();
  private readonly me: LeaseHolder;
  private readonly ttlMs: number;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Live replicas at the last tick, this one among them. */
  replicas = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly owner: PartitionOwner,
    private readonly opts: PartitionLeaseOptions,
  ) {
    this.ttlMs = (opts.ttlSeconds ?? DEFAULT_INGEST_LEASE_SECONDS) * 1000;
    this.me = leaseHolder(opts.describe);
  }

  get instance(): string {
    return this.me.instance;
  }

  /** The partitions held now, in order. */
  partitions(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /**
   * Joins: refuses (IngestLeaseHeldError) while a single control plane holds the whole stream's lease,
   * then takes a first share and renews from then on.
   */
  async start(): Promise<void> {
    this.kv = await this.js.views.kv(CONTROL_PLANE_BUCKET, {
      history: 1,
      ttl: this.ttlMs,
      replicas: this.opts.replicas,
    });
    const single = await this.kv.get(INGEST_LEASE_KEY);
    if (single && single.operation === 'PUT') {
      const holder = single.json<LeaseHolder>();
      throw new IngestLeaseHeldError(refusal(holder, this.opts.describe));
    }
    await this.kv.put(replicaKey(this.me.instance), JSON.stringify(this.me));
    await this.tick();
    // The bucket keeps the TTL of whoever made it: renewed at a third of the shorter, so no lease
    // lapses between renewals.
    const made = (await this.kv.status()).ttl;
    const ttl = made > 0 ? Math.min(made, this.ttlMs) : this.ttlMs;
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick());
    }, ttl / 3);
  }

  /** Renews, counts the replicas, gives up or takes partitions to hold its share. NATS away: retried next time. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    const kv = this.kv!;
    try {
      await kv.put(replicaKey(this.me.instance), JSON.stringify(this.me));
      await this.renew(kv);
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      this.replicas = Math.max(1, keys.filter((k) => k.startsWith(REPLICA_KEY_PREFIX)).length);
      const share = Math.ceil(this.opts.partitions / this.replicas);
      // Given up from the highest down; taken from an offset of its own, so joiners try apart.
      for (const p of this.partitions().reverse()) {
        if (this.held.size <= share || this.stopped) break;
        await this.giveUp(kv, p);
      }
      const taken = new Set(keys);
      const start = parseInt(this.me.instance.slice(0, 8), 16) % this.opts.partitions;
      for (let i = 0; i < this.opts.partitions && this.held.size < share && !this.stopped; i++) {
        const p = (start + i) % this.opts.partitions;
        if (this.held.has(p) || taken.has(partitionLeaseKey(p))) continue;
        await this.take(kv, p);
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'renewing the partition leases failed (NATS away?); retrying');
    }
  }

  private async renew(kv: KV): Promise<void> {
    for (const [p, revision] of [...this.held]) {
      const kept = await this.renewOne(kv, p, revision);
      if (kept) continue;
      // Taken by another (this replica was away longer than the TTL): what it read and did not ack
      // goes to the new holder.
      this.held.delete(p);
      this.opts.log.warn({ 'ingest.partition': p }, 'a partition lease was lost to another replica');
      await this.owner.give(p, true);
    }
  }

  /** Renews one lease: false only when another replica holds it now (NATS away keeps it till the next tick). */
  private async renewOne(kv: KV, p: number, revision: number): Promise<boolean> {
    const key = partitionLeaseKey(p);
    const mine = JSON.stringify(this.me);
    try {
      this.held.set(p, await kv.update(key, mine, revision));
      return true;
    } catch {
      // Read below: NATS away, lapsed, or taken.
    }
    const entry = await kv.get(key).catch(() => undefined);
    if (entry === undefined) return true;
    if (entry !== null && entry.operation === 'PUT') {
      // An update that was applied but whose answer was lost leaves this replica's own entry there.
      const ours = entry.string() === mine;
      if (ours) this.held.set(p, entry.revision);
      return ours;
    }
    // Lapsed while NATS was away, and nobody took it: still this replica's.
    const again = await kv.create(key, mine).catch(() => 0);
    if (again > 0) this.held.set(p, again);
    return again > 0;
  }

  private async take(kv: KV, p: number): Promise<void> {
    let revision: number;
    try {
      revision = await kv.create(partitionLeaseKey(p), JSON.stringify(this.me));
    } catch {
      return; // Another replica took it first.
    }
    this.held.set(p, revision);
    this.opts.log.info({ 'ingest.partition': p }, 'partition taken: this replica reads it');
    await this.owner.take(p);
  }

  private async giveUp(kv: KV, p: number): Promise<void> {
    const revision = this.held.get(p)!;
    await this.owner.give(p, false);
    this.held.delete(p);
    await kv.delete(partitionLeaseKey(p), { previousSeq: revision }).catch(() => undefined);
    this.opts.log.info({ 'ingest.partition': p }, 'partition given up to another replica');
  }

  /** Leaves: every partition stopped and released, its presence removed, so the others take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const kv = this.kv;
    for (const p of this.partitions()) {
      if (kv) await this.giveUp(kv, p);
      else await this.owner.give(p, false);
    }
    await kv?.delete(replicaKey(this.me.instance)).catch(() => undefined);
  }
}
