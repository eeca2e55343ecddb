import type { Consumer, ConsumerInfo, JetStreamClient, JetStreamManager } from 'nats';
import type { Logger } from 'pino';
import { EVENTS_STREAM } from '@vigil/schema';
import {
  EVENTS_CONSUMER,
  ensureConsumer,
  ensureStreams,
  missingResource,
  recreateConsumer,
  type ConsumerSpec,
  type StreamLimits,
} from './streams.js';

/**
 * Whether the durable consumer is there to read from. Anyone allowed to manage JetStream can delete
 * it: ingestion and detection would stop while everything else looked fine, so it is checked, said
 * here and recreated where the last one stopped.
 */
export interface ConsumerState {
  healthy: boolean;
  /** What is wrong now, or null. */
  problem: string | null;
  /** Times it (or its stream) went missing and was made again. */
  recreated: number;
  /** The last thing that went wrong, kept after it was mended. */
  lastProblem: string | null;
}

/**
 * The consumer as opened: `stream-replaced` when its stream is a new one (sequences start over);
 * `rewound` when it was made again at its ack floor (see open's `orphans`).
 */
export interface OpenedConsumer {
  consumer: Consumer;
  info: ConsumerInfo;
  how: 'found' | 'recreated' | 'stream-replaced' | 'rewound';
}

/** The events stream's durable consumer: found, or made again when it went missing. */
export class DurableConsumer {
  readonly state: ConsumerState = { healthy: true, problem: null, recreated: 0, lastProblem: null };
  private jsm: JetStreamManager | null = null;
  /** Where a consumer deleted to be rewound starts, until it is made again. */
  private rewindTo: number | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly limits: StreamLimits,
    private readonly log: Logger,
    private readonly spec: ConsumerSpec = EVENTS_CONSUMER,
  ) {}

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await this.js.jetstreamManager();
    return this.jsm;
  }

  /**
   * The consumer to fetch from. When it is missing it is made again, delivering from `resume()` on
   * (undefined: the stream's start), read only once `settle()` resolved: what this control plane holds
   * is stored by then (its acks go nowhere), so nothing is delivered twice and nothing skipped. When
   * the stream is missing, or was replaced (its sequences stop before `resume()`), it delivers the new
   * stream from its start. Throws what NATS throws otherwise (away, refusing); the caller retries.
   *
   * `orphans`: this control plane holds the stream's (or the partition's) lease and has read nothing
   * yet, so whatever the consumer has delivered and not had acked went to a reader that is gone (a
   * crash, a replica that died; or one that stopped in order and handed them back). A crashed
   * reader's would come again only after ack_wait, a minute with nothing stored; the consumer is
   * made again at its ack floor instead, so they come now. What was acked past the floor comes again
   * too, and the events table folds it by id.
   */
  async open(settle: () => Promise<void>, resume: () => number | undefined, orphans = false): Promise<OpenedConsumer> {
    const jsm = await this.manager();
    let how: OpenedConsumer['how'] = 'found';
    try {
      const found = await jsm.consumers.info(EVENTS_STREAM, this.spec.name);
      if (orphans && found.num_ack_pending > 0) {
        // Kept until it is made: NATS away between the two calls leaves it missing, made again here.
        this.rewindTo = found.ack_floor.stream_seq + 1;
        await jsm.consumers.delete(EVENTS_STREAM, this.spec.name);
        await recreateConsumer(jsm, this.rewindTo, this.spec);
        this.rewindTo = undefined;
        how = 'rewound';
        this.log.warn(
          {
            'ingest.consumer': this.spec.name,
            'ingest.startSeq': found.ack_floor.stream_seq + 1,
            'ingest.orphaned': found.num_ack_pending,
          },
          'events delivered before this start and not acked (to a reader now gone, or handed back at its stop) are delivered again now, not after ack_wait',
        );
      }
    } catch (err) {
      const missing = missingResource(err);
      if (missing === null) throw err;
      this.trouble(
        missing === 'consumer'
          ? `the durable consumer ${this.spec.name} of ${EVENTS_STREAM} is missing (deleted?): nothing is ingested or detected until it is made again`
          : `the stream ${EVENTS_STREAM} is missing (deleted?): what it held and this control plane had not read is lost`,
      );
      await settle();
      const start = resume() ?? this.rewindTo;
      if (missing === 'stream') {
        await ensureStreams(jsm, this.limits);
        await ensureConsumer(jsm, this.spec);
        how = 'stream-replaced';
      } else if (start !== undefined && (await jsm.streams.info(EVENTS_STREAM)).state.last_seq < start - 1) {
        await recreateConsumer(jsm, undefined, this.spec);
        how = 'stream-replaced';
      } else {
        await recreateConsumer(jsm, start, this.spec);
        how = 'recreated';
      }
      this.rewindTo = undefined;
      this.state.recreated++;
      this.log.warn(
        {
          'ingest.consumer': this.spec.name,
          'ingest.startSeq': how === 'recreated' ? (start ?? 1) : 1,
          'ingest.how': how,
        },
        'durable consumer made again',
      );
    }
    const consumer = await this.js.consumers.get(EVENTS_STREAM, this.spec.name);
    const info = await consumer.info();
    this.mended();
    return { consumer, info, how };
  }

  /** Whether the consumer is still there: null when NATS did not say (away, refusing). */
  async present(): Promise<boolean | null> {
    try {
      await (await this.manager()).consumers.info(EVENTS_STREAM, this.spec.name);
      return true;
    } catch (err) {
      return missingResource(err) === null ? null : false;
    }
  }

  /** Something is wrong: said in the state, and logged once per change. */
  private trouble(problem: string): void {
    if (this.state.problem === problem) return;
    this.state.healthy = false;
    this.state.problem = problem;
    this.state.lastProblem = problem;
    this.log.error({ 'ingest.consumer': this.spec.name }, problem);
  }

  private mended(): void {
    if (this.state.healthy) return;
    this.state.healthy = true;
    this.state.problem = null;
    this.log.info({ 'ingest.consumer': this.spec.name }, 'ingesting from the durable consumer again');
  }
}
