import { connect, type ConnectionOptions, type JetStreamManager, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { closeNats } from '@vigil/schema';

/** JetStream as the JetStream API answers it ($JS.API.INFO): what a publish or a consumer would meet. */
export type JetStreamState = 'enabled' | 'disabled' | 'unreachable' | 'unchecked';

export interface JetStreamReport {
  jetstream: JetStreamState;
  jetstreamCheckedAt: string | null;
  /** Times JetStream went from enabled to disabled or unreachable. */
  jetstreamOutages: number;
}

export interface JetStreamWatchOptions {
  nats: ConnectionOptions;
  log: Logger;
  /** Called when JetStream has answered "disabled" `disabledChecks` times in a row. */
  onDisabled: () => void;
  everyMs?: number;
  disabledChecks?: number;
}

/**
 * Asks the server for its JetStream account info every 2 s. A state change is logged once; three
 * "disabled" answers in a row call onDisabled, and each three after that (the server restarted with
 * a disk still full: the supervisor's backoff spaces the restarts).
 */
export class JetStreamWatch {
  private nc: NatsConnection | null = null;
  private jsm: JetStreamManager | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private disabledInARow = 0;
  private readonly state: JetStreamReport = { jetstream: 'unchecked', jetstreamCheckedAt: null, jetstreamOutages: 0 };

  constructor(private readonly o: JetStreamWatchOptions) {}

  report(): JetStreamReport {
    return { ...this.state };
  }

  async start(): Promise<void> {
    this.nc = await connect({
      name: 'vigil-up-supervisor',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...this.o.nats,
    });
    this.jsm = await this.nc.jetstreamManager({ checkAPI: false, timeout: 2000 });
    await this.check();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.nc) await closeNats(this.nc);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule()), this.o.everyMs ?? 2000);
  }

  private async check(): Promise<void> {
    let next: JetStreamState;
    let detail: string | null = null;
    try {
      await this.jsm!.getAccountInfo();
      next = 'enabled';
    } catch (err) {
      detail = (err as Error).message;
      const code = (err as { code?: string }).code;
      // A server without JetStream has no responder for its API (503); an account without it says so.
      next = code === '503' || /jetstream not enabled|no responders/i.test(detail) ? 'disabled' : 'unreachable';
    }
    if (this.stopped) return;
    const prev = this.state.jetstream;
    this.state.jetstream = next;
    this.state.jetstreamCheckedAt = new Date().toISOString();
    if (next !== prev) {
      if (prev === 'enabled') this.state.jetstreamOutages++;
      const fields = {
        'jetstream.state': next,
        'jetstream.was': prev,
        'jetstream.outages': this.state.jetstreamOutages,
        ...(detail ? { 'jetstream.error': detail } : {}),
      };
      if (next === 'enabled') this.o.log.info(fields, 'JetStream enabled');
      else this.o.log.error(fields, `JetStream ${next}`);
    }
    this.disabledInARow = next === 'disabled' ? this.disabledInARow + 1 : 0;
    if (this.disabledInARow >= (this.o.disabledChecks ?? 3)) {
      this.disabledInARow = 0;
      this.o.onDisabled();
    }
  }
}
