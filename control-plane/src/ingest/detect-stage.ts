import type { JsMsg } from 'nats';
import type { Logger } from 'pino';
import type { EventV1 } from '@vigil/schema';
import { checkMessage } from './check.js';
import { pause, type CountedQueue, type RunState, type Size } from './stage-queue.js';
import type { Checked } from './store-stage.js';

/** Events the detections take per round (inserts may be larger: see IngestOptions.batchSize). */
const DETECT_ROUND = 2000;

/** A message validated and seen by the detections, waiting to be stored since `at`. */
export interface Detected {
  checked: Checked;
  at: number;
}

/** What a detected message counts for in the store stage: its events, or one for a refused message. */
export const detectedSize = (d: Detected): Size => ({
  events: d.checked.events.length || 1,
  bytes: d.checked.msg.data.length,
});

/** What the detect stage asks of the ingestor it serves. */
export interface DetectHost extends RunState {
  readonly log: Logger;
  readonly batchSize: number;
  /** See IngestOptions.lingerMs. */
  readonly lingerMs: number | undefined;
  /** Messages in the stream not yet delivered to this consumer (see ReaderStage.pending). */
  pending(): number;
  onEvents?: (events: EventV1[]) => void;
  /** See IngestOptions.partitions. */
  readonly partitions?: number | undefined;
}

/**
 * The detect stage of EventIngestor: takes what arrived in rounds, validates each message, hands the
 * valid events to the detections, then queues the messages for the store stage.
 */
export class DetectStage {
  constructor(
    private readonly arrived: CountedQueue<JsMsg>,
    private readonly toStore: CountedQueue<Detected>,
    private readonly host: DetectHost,
  ) {}

  /** Detects until the ingestor stops, then wakes the store stage. */
  async run(): Promise<void> {
    while (this.host.running()) {
      if (this.arrived.length === 0) {
        await pause(this.host, this.arrived.whenArrived(1000));
        continue;
      }
      await this.linger();
      if (!this.host.running()) break;
      this.round();
      await new Promise((r) => setImmediate(r));
    }
    this.toStore.wake();
  }

  /**
   * Only a quiet spell waits: behind a backlog every round would pay the linger again (the store
   * stage holds the previous rounds, so their messages are not the ones waited for). And only for
   * messages the stream already holds: with none pending, the detections start now.
   */
  private async linger(): Promise<void> {
    const { batchSize, lingerMs } = this.host;
    if (this.toStore.length > 0 || this.arrived.events >= batchSize || lingerMs === 0) return;
    const until = performance.now() + (lingerMs ?? 20);
    while (
      this.host.pending() > 0 &&
      this.arrived.events < batchSize &&
      this.host.running() &&
      performance.now() < until
    ) {
      await pause(this.host, this.arrived.whenArrived(until - performance.now()));
    }
  }

  /**
   * At most DETECT_ROUND events per round, then a turn of the event loop: behind a backlog the store
   * stage starts its next insert between rounds instead of waiting for every arrival's detections
   * (the insert runs on chDB's threads while the detections run here), and the last event of a round
   * waits for its alerts no longer than the detections of that many.
   */
  private round(): void {
    const msgs = this.arrived.take(Math.min(this.host.batchSize, DETECT_ROUND));
    const checked: Checked[] = msgs.map((msg) => ({
      msg,
      ...checkMessage(msg.subject, msg.data, this.host.partitions),
    }));
    const events = checked.flatMap((c) => c.events);
    if (events.length > 0 && this.host.onEvents) {
      try {
        this.host.onEvents(events);
      } catch (err) {
        this.host.log.error({ err }, 'detections failed on a batch');
      }
    }
    const at = performance.now();
    for (const c of checked) this.toStore.push({ checked: c, at });
  }
}
