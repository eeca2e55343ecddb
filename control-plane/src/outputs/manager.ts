import type { JetStreamClient } from 'nats';
import type { Logger } from 'pino';
import { durationToMs, type OutputConfig, type StatusReport, type VigilConfigV1 } from '@vigil/schema';
import type { ConfigSource } from '../config/source.js';
import { OutputDelivery, type OutputStats } from './delivery.js';
import { FileSender } from './file.js';
import type { Sender } from './message.js';
import { SlackSender } from './slack.js';
import { ensureOutputConsumer } from './streams.js';
import { SyslogSender } from './syslog.js';
import { WebhookSender } from './webhook.js';

/** An output that could not start (its secret unreadable, NATS refusing its consumer): said in the status. */
interface Failed {
  cfg: OutputConfig;
  error: string;
}

const ZERO: OutputStats = {
  sent: 0,
  failed: 0,
  retrying: 0,
  deadLettered: 0,
  skipped: 0,
  duplicates: 0,
  lastError: null,
};

/** The sender of one output type. */
function senderOf(cfg: OutputConfig, config: VigilConfigV1): Sender {
  switch (cfg.type) {
    case 'webhook':
      return new WebhookSender(cfg);
    case 'slack':
      return new SlackSender(cfg, config.publicUrl);
    case 'syslog':
      return new SyslogSender(cfg);
    case 'file':
      return new FileSender(cfg);
  }
}

/** How long one attempt may take at most: the consumer's ack_wait is made longer. */
const attemptMs = (cfg: OutputConfig): number => ('timeout' in cfg ? durationToMs(cfg.timeout) : 10_000);

/**
 * The outputs vigil.yaml configures, each delivering from its own durable consumer. On a change of
 * the configuration, outputs removed or changed are stopped (their consumers stay, so one put back
 * resumes where it stopped) and those added or changed are started; the rest run on untouched.
 */
export class Outputs {
  private readonly running = new Map<string, OutputDelivery>();
  private readonly failed = new Map<string, Failed>();
  /** Each output's configuration as last applied, to tell a changed one. */
  private readonly applied = new Map<string, string>();
  private applying: Promise<void> = Promise.resolve();
  private readonly onChange = (next: VigilConfigV1) => {
    this.applying = this.applying.then(() => this.apply(next));
  };

  constructor(
    private readonly source: ConfigSource,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.source.on('change', this.onChange);
    this.applying = this.apply(this.source.current());
    await this.applying;
  }

  private async apply(config: VigilConfigV1): Promise<void> {
    const wanted = new Map(config.outputs.map((o) => [o.name, o]));
    for (const [name, seen] of this.applied) {
      const next = wanted.get(name);
      // One that failed to start is tried again at each reload (its secret file may be there now).
      if (next && JSON.stringify(next) === seen && !this.failed.has(name)) continue;
      await this.running.get(name)?.stop();
      this.running.delete(name);
      this.failed.delete(name);
      this.applied.delete(name);
      this.log.info({ output: name }, next ? 'output changed; restarting it' : 'output removed');
    }
    for (const [name, cfg] of wanted) {
      if (this.applied.has(name)) continue;
      this.applied.set(name, JSON.stringify(cfg));
      try {
        const sender = senderOf(cfg, config);
        const jsm = await this.js.jetstreamManager();
        const open = async (resumeSeq?: number) => {
          const c = await ensureOutputConsumer(jsm, cfg, attemptMs(cfg), resumeSeq);
          if (c.made && resumeSeq !== undefined)
            this.log.warn({ output: name, resumeSeq }, "output's consumer was missing (deleted?); made again");
          return this.js.consumers.get(c.stream, c.consumer);
        };
        // Made now, so that what is published from here on is the output's.
        await open();
        const delivery = new OutputDelivery(cfg, open, sender, this.js, this.log);
        this.running.set(name, delivery);
        delivery.start();
        this.log.info({ output: name, type: cfg.type, send: cfg.send }, 'output started');
      } catch (err) {
        this.failed.set(name, { cfg, error: (err as Error).message });
        this.log.error({ err, output: name }, 'output not started');
      }
    }
  }

  /** Each output's figures, for `vigil status` and /metrics. */
  report(): NonNullable<StatusReport['controlPlane']['outputs']> {
    return [
      ...[...this.running.values()].map((d) => ({ name: d.cfg.name, type: d.cfg.type, ...d.stats })),
      ...[...this.failed.values()].map((f) => ({ name: f.cfg.name, type: f.cfg.type, ...ZERO, lastError: f.error })),
    ];
  }

  async stop(): Promise<void> {
    this.source.off('change', this.onChange);
    await this.applying;
    await Promise.all([...this.running.values()].map((d) => d.stop()));
    this.running.clear();
  }
}
