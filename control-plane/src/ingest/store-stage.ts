import type { ClickHouseClient } from '@clickhouse/client';
import { headers, type JetStreamClient, type JsMsg } from 'nats';
import type { Logger } from 'pino';
import { deadLetterSubject } from '@vigil/schema';
import { insertEvents, StoredNotKeptError } from '../store/event-insert.js';
import { OutageLog } from '../store/outage.js';
import { storedAtClaimedTime } from '../store/claimed-time.js';
import type { CheckedMessage, Refused } from './check.js';
import type { IngestStats } from './consumer.js';
import { sleep } from './stage-queue.js';

/** A message, validated (see checkMessage): refused whole (dead-lettered, then acked) or its events. */
export interface Checked extends CheckedMessage {
  msg: JsMsg;
}

/** What the store stage asks of the ingestor it serves. */
export interface StoreStageHost {
  readonly stats: IngestStats;
  readonly log: Logger;
  running(): boolean;
  /** Resolves when the ingestor stops: ends backoff sleeps at once. */
  stopping(): Promise<void>;
  /** Why an insert that succeeded is not kept (see StorageClients.notKept); null when it is. */
  notKept(): string | null;
  /** Days back whose claimed times the events table stores as claimed. */
  claimDays(): number;
}

/**
 * The store stage of EventIngestor: parks what was refused on the dead-letter stream (as the bytes it
 * was sent as, counted by reason), inserts the events, retrying while storage refuses, then acks. It
 * knows the last message acked, where a recreated durable consumer starts (see DurableConsumer).
 */
export class StoreStage {
  /** The highest stream sequence acked. */
  private lastAcked = 0;
  /** Messages let go unacked, to come back (their parking failed, or the connection was closing). */
  private readonly unacked = new Set<number>();
  /** Inserts failing: one line when they start, every so often while they go on, one when they work again. */
  private readonly outage: OutageLog;

  constructor(
    private readonly js: JetStreamClient,
    private readonly ch: ClickHouseClient,
    private readonly host: StoreStageHost,
  ) {
    this.outage = new OutageLog(host.log, {
      down: 'storing events failed; not acking: they wait in JetStream, retried with backoff',
      still: 'storing events still fails; not acking',
      up: 'storing events works again',
    });
  }

  /** Starts over from a consumer's ack floor (a consumer first opened, or a new stream). */
  resetAcked(ackFloor: number): void {
    this.lastAcked = ackFloor;
    this.unacked.clear();
  }

  /** Where a recreated consumer starts: after the last message acked, or at the first let go unacked. */
  resumeSeq(): number | undefined {
    let start = this.lastAcked + 1;
    for (const seq of this.unacked) if (seq < start) start = seq;
    return start > 1 ? start : undefined;
  }

  /** Messages that come back unacked (after ack_wait), for a reason the caller logged. */
  letGo(msgs: JsMsg[]): void {
    for (const m of msgs) this.unacked.add(m.info.streamSequence);
  }

  private ack(m: JsMsg): void {
    try {
      m.ack();
    } catch {
      // The connection is closing: the message comes back, as any unacked one.
      this.unacked.add(m.info.streamSequence);
      return;
    }
    const seq = m.info.streamSequence;
    this.unacked.delete(seq);
    if (seq > this.lastAcked) this.lastAcked = seq;
  }

  /**
   * Stores the events of some messages, retrying until storage accepts them; returns the backoff to
   * carry on with. `held`: the other messages this consumer holds, kept from redelivery while it waits.
   * What is refused is parked first; a message whose parking failed is not acked and comes back.
   */
  async store(batch: Checked[], backoffIn: number, held: () => JsMsg[]): Promise<number> {
    const { stats, log } = this.host;
    let backoff = backoffIn;
    const events = batch.flatMap((c) => c.events);
    const good: JsMsg[] = [];
    for (const c of batch) {
      let parked = true;
      for (const b of c.bad) parked = (await this.deadLetter(c.msg, b)) && parked;
      if (!parked) this.unacked.add(c.msg.info.streamSequence);
      else if (!c.good) this.ack(c.msg);
      else good.push(c.msg);
    }
    for (;;) {
      try {
        await insertEvents(this.ch, events);
        // Before acking: an insert into an engine whose data directory is gone succeeds, and is lost.
        const notKept = this.host.notKept();
        if (notKept !== null) throw new StoredNotKeptError(notKept);
        this.outage.succeeded();
        for (const m of good) this.ack(m);
        stats.stored += events.length;
        const now = Date.now();
        const claimDays = this.host.claimDays();
        for (const ev of events) if (!storedAtClaimedTime(ev.ts, claimDays, now)) stats.retimed++;
        stats.batches++;
        stats.storageHealthy = true;
        stats.lastInsertError = null;
        return 250;
      } catch (err) {
        stats.storageHealthy = false;
        stats.lastInsertError = (err as Error).message;
        this.outage.failed(err);
        log.debug(
          { err, 'ingest.batch': events.length, 'ingest.backoffMs': backoff },
          'insert failed; not acking, will retry',
        );
        // Keep the messages ours while we wait, so JetStream does not redeliver them meanwhile.
        for (const m of [...good, ...held()]) tryTo(() => m.working());
        // Stopping: hand them back now, so the next control plane gets them without waiting out ack_wait.
        if (!this.host.running()) {
          for (const m of good) tryTo(() => m.nak());
          return backoff;
        }
        await Promise.race([sleep(backoff), this.host.stopping()]);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  /**
   * Parks what was refused on the dead-letter stream, as the bytes it was sent as, and counts it by
   * reason; false when parking failed (the message is then not acked and comes back).
   */
  private async deadLetter(msg: JsMsg, refused: Refused): Promise<boolean> {
    const { stats, log } = this.host;
    stats.rejects[refused.reason] = (stats.rejects[refused.reason] ?? 0) + 1;
    try {
      const h = headers();
      h.set('Vigil-Reason', refused.reason);
      h.set('Vigil-Subject', msg.subject);
      // Where the whole message lies in the events stream (while the stream keeps it).
      h.set('Vigil-Stream-Seq', String(msg.info.streamSequence));
      if (refused.index !== undefined) h.set('Vigil-Index', String(refused.index));
      await this.js.publish(deadLetterSubject(refused.reason), refused.data, { headers: h });
      return true;
    } catch (err) {
      log.error({ err, 'deadletter.reason': refused.reason }, 'dead-letter publish failed');
      return false;
    }
  }
}

/** Runs an ack-like call that throws only when the connection is closing (the message comes back then). */
export const tryTo = (f: () => void): void => {
  try {
    f();
  } catch {
    /* the message comes back */
  }
};
