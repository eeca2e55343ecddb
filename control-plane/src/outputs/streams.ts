import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type JetStreamManager } from 'nats';
import { ALERTS_STREAM, ALERTS_SUBJECTS, INCIDENTS_STREAM, INCIDENTS_SUBJECTS, type OutputConfig } from '@vigil/schema';
import { missingResource } from '../ingest/streams.js';

/** The stream an output reads. */
export const streamOf = (send: OutputConfig['send']): { stream: string; subjects: string } =>
  send === 'alerts'
    ? { stream: ALERTS_STREAM, subjects: ALERTS_SUBJECTS }
    : { stream: INCIDENTS_STREAM, subjects: INCIDENTS_SUBJECTS };

/** Each output's durable consumer: named after the output, so a restarted control plane resumes it. */
export const outputConsumerName = (output: string): string => `vigil-output-${output}`;

/**
 * The durable pull consumer of one output. A new one starts at what arrives from now on (an output
 * added to a running Vigil does not replay a month of alerts), or at `resumeSeq` when it is made
 * again after it went missing; an existing one resumes where it stopped. Redeliveries are the
 * output's own (nak with a delay); ack_wait outlasts one attempt.
 */
export async function ensureOutputConsumer(
  jsm: JetStreamManager,
  cfg: OutputConfig,
  attemptMs: number,
  resumeSeq?: number,
): Promise<{ stream: string; consumer: string; made: boolean }> {
  const { stream, subjects } = streamOf(cfg.send);
  const name = outputConsumerName(cfg.name);
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    ...(resumeSeq === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: resumeSeq }),
    filter_subject: subjects,
    ack_wait: nanos(Math.max(60_000, attemptMs * 2)),
    max_deliver: -1,
    max_ack_pending: 1000,
  };
  try {
    await jsm.consumers.info(stream, name);
    return { stream, consumer: name, made: false };
  } catch (err) {
    if (missingResource(err) !== 'consumer') throw err;
    await jsm.consumers.add(stream, config);
    return { stream, consumer: name, made: true };
  }
}
