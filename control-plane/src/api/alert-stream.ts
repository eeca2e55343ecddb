import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlertV1 } from '@vigil/schema';

/** Bytes one follower may leave unread in this process before it is cut off. */
export const FOLLOWER_BUFFER_BYTES = 1024 * 1024;
/** Followers at once: with the budget above, at most 64 MiB held for clients that do not read. */
export const MAX_FOLLOWERS = 64;
/** How long a cut-off follower has to take its last words before the socket is destroyed. */
const CLOSE_GRACE_MS = 5000;
const PING_MS = 15_000;

export interface LiveStreamReport {
  followers: number;
  /** What the followers' connections hold in this process now, unsent. */
  bufferedBytes: number;
  /** The most one follower's connection held after a write (never above budgetBytes). */
  maxBufferedBytes: number;
  budgetBytes: number;
  /** Followers cut off for leaving more than budgetBytes unread. */
  slowDisconnects: number;
  /** Items (alerts, events) a follower did not get because it was cut off (one per cut). */
  dropped: number;
  /** Followers refused because MAX_FOLLOWERS were connected. */
  refused: number;
}

/** What a stream carries: the emitter's event name, what one item is called, where the missed are listed. */
export interface LiveTopic {
  event: string;
  noun: string;
  missed: string;
}

export const ALERT_TOPIC: LiveTopic = { event: 'alert', noun: 'alert', missed: 'vigil alerts --since lists what was missed' };
export const EVENT_TOPIC: LiveTopic = { event: 'event', noun: 'event', missed: 'vigil events --since lists what was missed' };

/**
 * Server-sent items of one topic for `vigil alerts --follow` and `vigil events --follow`, with a byte
 * budget per client: a write that would leave more than the budget unsent in this process (the client
 * reads slowly, or never) cuts the client off with a last comment saying why, instead of buffering
 * without bound. Counted.
 */
export class LiveFollowers<T> {
  private readonly clients = new Set<ServerResponse>();
  private readonly stats = { maxBufferedBytes: 0, slowDisconnects: 0, dropped: 0, refused: 0 };

  constructor(
    private readonly live: EventEmitter,
    private readonly topic: LiveTopic,
    private readonly budgetBytes = FOLLOWER_BUFFER_BYTES,
    private readonly maxFollowers = MAX_FOLLOWERS,
  ) {}

  report(): LiveStreamReport {
    let bufferedBytes = 0;
    for (const res of this.clients) bufferedBytes += res.writableLength;
    return { followers: this.clients.size, bufferedBytes, budgetBytes: this.budgetBytes, ...this.stats };
  }

  /** Streams the items `wants` accepts to `res` until either side closes. */
  follow(req: IncomingMessage, res: ServerResponse, wants: (item: T) => boolean): void {
    if (this.clients.size >= this.maxFollowers) {
      this.stats.refused++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `too many ${this.topic.noun} followers (${this.maxFollowers})` }));
      return;
    }
    this.clients.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const done = () => {
      clearInterval(ping);
      this.live.off(this.topic.event, send);
      this.clients.delete(res);
    };
    const cut = () => {
      this.stats.slowDisconnects++;
      const unread = res.writableLength;
      done();
      res.end(`: closed: more than ${this.budgetBytes} bytes left unread (${unread}); ${this.topic.missed}\n\n`);
      const kill = setTimeout(() => res.destroy(), CLOSE_GRACE_MS);
      kill.unref();
      res.once('close', () => clearTimeout(kill));
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
    const ping = setInterval(() => write(': ping\n\n'), PING_MS);
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
