import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlertV1, LiveStreamReport } from '@vigil/schema';

/** Bytes one follower may leave unread in this process before it is cut off. */
export const FOLLOWER_BUFFER_BYTES = 1024 * 1024;
/** Followers at once: with the budget above, at most 64 MiB held for clients that do not read. */
export const MAX_FOLLOWERS = 64;
/** How long a cut-off follower has to take its last words before the socket is destroyed. */
const CLOSE_GRACE_MS = 5000;
/** The same when the control plane stops: it waits for no client longer than this. */
const STOP_GRACE_MS = 1000;
const PING_MS = 15_000;

export type { LiveStreamReport } from '@vigil/schema';

/** What a stream carries: the emitter's event name, what one item is called, where the missed are listed. */
export interface LiveTopic {
  event: string;
  noun: string;
  missed: string;
}

export const ALERT_TOPIC: LiveTopic = {
  event: 'alert',
  noun: 'alert',
  missed: 'vigil alerts --since lists what was missed',
};
export const EVENT_TOPIC: LiveTopic = {
  event: 'event',
  noun: 'event',
  missed: 'vigil events --since lists what was missed',
};

/**
 * Server-sent items of one topic for `vigil alerts --follow` and `vigil events --follow`, with a byte
 * budget per client: a write that would leave more than the budget unsent in this process (the client
 * reads slowly, or never) cuts the client off with a last comment saying why, instead of buffering
 * without bound. Counted.
 */
export class LiveFollowers<T> {
  /** Each follower, with how to end its stream with a last comment. */
  private readonly clients = new Map<ServerResponse, (why: string, graceMs: number) => void>();
  private stopping = false;
  private readonly stats = { maxBufferedBytes: 0, slowDisconnects: 0, dropped: 0, refused: 0 };

  constructor(
    private readonly live: EventEmitter,
    private readonly topic: LiveTopic,
    private readonly budgetBytes = FOLLOWER_BUFFER_BYTES,
    private readonly maxFollowers = MAX_FOLLOWERS,
  ) {}

  report(): LiveStreamReport {
    let bufferedBytes = 0;
    for (const res of this.clients.keys()) bufferedBytes += res.writableLength;
    return { followers: this.clients.size, bufferedBytes, budgetBytes: this.budgetBytes, ...this.stats };
  }

  /**
   * Ends every follower's stream with a last comment saying why, and refuses new ones: a stream
   * never ends by itself, so the HTTP server cannot close while one is open. Resolves once each
   * client has its last words or has been let go (STOP_GRACE_MS at most).
   */
  async close(why = 'the control plane is stopping'): Promise<void> {
    this.stopping = true;
    const closed = [...this.clients].map(([res, end]) => {
      const gone = new Promise<void>((resolve) => {
        res.once('close', resolve);
      });
      end(why, STOP_GRACE_MS);
      return gone;
    });
    // Bounded as well: a response already torn down may have said 'close' before it was asked.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((r) => {
        timer = setTimeout(r, STOP_GRACE_MS + 500);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Streams the items `wants` accepts to `res` until either side closes. */
  follow(req: IncomingMessage, res: ServerResponse, wants: (item: T) => boolean): void {
    const refuse = (error: string) => {
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error }));
    };
    if (this.stopping) {
      refuse('the control plane is stopping');
      return;
    }
    if (this.clients.size >= this.maxFollowers) {
      this.stats.refused++;
      refuse(`too many ${this.topic.noun} followers (${this.maxFollowers})`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let ping: NodeJS.Timeout | undefined;
    const done = () => {
      clearInterval(ping);
      this.live.off(this.topic.event, send);
      this.clients.delete(res);
    };
    /** The last comment (`: closed: why`), then the socket, destroyed if the client does not take it. */
    const end = (why: string, graceMs: number) => {
      done();
      if (res.destroyed) return;
      res.end(`: closed: ${why}\n\n`);
      const kill = setTimeout(() => res.destroy(), graceMs);
      kill.unref();
      res.once('close', () => clearTimeout(kill));
    };
    this.clients.set(res, end);
    const cut = () => {
      this.stats.slowDisconnects++;
      end(
        `more than ${this.budgetBytes} bytes left unread (${res.writableLength}); ${this.topic.missed}`,
        CLOSE_GRACE_MS,
      );
    };
    /** False when the client was cut off instead. */
    const write = (chunk: string): boolean => {
      if (res.writableEnded || res.destroyed) return false;
      if (res.writableLength + Buffer.byteLength(chunk) > this.budgetBytes) {
        cut();
        return false;
      }
      res.write(chunk);
      this.stats.maxBufferedBytes = Math.max(this.stats.maxBufferedBytes, res.writableLength);
      return true;
    };
    const send = (item: T) => {
      if (wants(item) && !write(`data: ${JSON.stringify(item)}\n\n`)) this.stats.dropped++;
    };
    ping = setInterval(() => write(': ping\n\n'), PING_MS);
    write(`: vigil ${this.topic.noun}s\n\n`);
    this.live.on(this.topic.event, send);
    req.once('close', done);
    res.once('close', done);
  }
}

/** The alert stream (`vigil alerts --follow`). */
export class AlertFollowers extends LiveFollowers<AlertV1> {
  constructor(live: EventEmitter, budgetBytes = FOLLOWER_BUFFER_BYTES, maxFollowers = MAX_FOLLOWERS) {
    super(live, ALERT_TOPIC, budgetBytes, maxFollowers);
  }
}
