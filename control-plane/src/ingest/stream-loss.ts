import type { JetStreamClient, JetStreamManager, StreamInfo } from 'nats';
import type { Logger } from 'pino';
import { EVENTS_STREAM } from '@vigil/schema';

/**
 * Counts the messages the events stream dropped before the durable consumer delivered them (its age
 * or size limits, a purge, a deleted message): nothing else would tell.
 *
 * A gap in the stream sequences of this process's first deliveries is only a candidate. The durable
 * consumer is shared: other control planes on the stream (replicas) get the messages between, and a
 * delivery the client missed comes back after ack_wait. Both leave the message in the stream. So a
 * candidate is counted only for the messages the stream no longer holds, checked as soon as the gap
 * is seen (the consumer delivers in stream order: a message of the gap was dropped before the one
 * after it was delivered, or is still there). The one case read as loss that is not: the stream
 * dropped a message delivered to another control plane within the moment before the check, which
 * takes the stream at its limits, where real loss is happening anyway.
 */
export class StreamLoss {
  /** Messages counted lost. */
  lost = 0;
  /** The highest stream sequence delivered to this process for the first time. */
  private lastSeq = 0;
  /** Candidate gaps, first and last sequence inclusive, not yet checked against the stream. */
  private gaps: [number, number][] = [];
  private jsm: JetStreamManager | null = null;

  constructor(
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {}

  /** Starts over after `seq` (a consumer first opened, or a new stream): no gap before it is counted. */
  reset(seq: number): void {
    this.lastSeq = seq;
    this.gaps = [];
  }

  /** A first delivery of stream sequence `seq`: the sequences skipped since the last become a candidate. */
  delivered(seq: number): void {
    if (seq > this.lastSeq + 1) this.gaps.push([this.lastSeq + 1, seq - 1]);
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /**
   * Checks the candidates against the stream and counts the messages it no longer holds. Throws what
   * NATS throws (away): the candidates are kept for the next call.
   */
  async check(): Promise<void> {
    if (this.gaps.length === 0) return;
    this.jsm ??= await this.js.jetstreamManager();
    let info: StreamInfo = await this.jsm.streams.info(EVENTS_STREAM);
    // Deleted messages inside the stream are listed only on request, and only asked for when some are.
    let deleted: Set<number> | null = null;
    if (info.state.num_deleted > 0 && this.gaps.some(([, last]) => last >= info.state.first_seq)) {
      info = await this.jsm.streams.info(EVENTS_STREAM, { deleted_details: true });
      deleted = new Set(info.state.deleted ?? []);
    }
    const first = info.state.first_seq;
    let lost = 0;
    for (const [from, to] of this.gaps) {
      // Below the stream's first sequence: dropped from its front (limits, a purge).
      const below = Math.max(0, Math.min(to, first - 1) - from + 1);
      let inside = 0;
      if (deleted) for (let seq = Math.max(from, first); seq <= to; seq++) if (deleted.has(seq)) inside++;
      lost += below + inside;
    }
    if (lost > 0) {
      // One line per check, however many gaps it held.
      this.log.error(
        {
          'ingest.lostMessages': lost,
          'ingest.fromSeq': this.gaps[0]![0],
          'ingest.toSeq': this.gaps[this.gaps.length - 1]![1],
          'ingest.streamFirstSeq': first,
        },
        'the stream dropped messages before they were consumed (stream limits, a purge or a deletion)',
      );
    }
    this.gaps = [];
    this.lost += lost;
  }
}
