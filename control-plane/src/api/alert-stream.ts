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

export interface AlertStreamReport {
  followers: number;
  /** What the followers' connections hold in this process now, unsent. */
  bufferedBytes: number;
  /** The most one follower's connection held after a write (never above budgetBytes). */
  maxBufferedBytes: number;
  budgetBytes: number;
  /** Followers cut off for leaving more than budgetBytes unread. */
  slowDisconnects: number;
  /** Alerts a follower did not get because it was cut off (one per cut). */
  droppedAlerts: number;
  /** Followers refused because MAX_FOLLOWERS were connected. */
  refused: number;
}

/**
 * Server-sent alerts for `vigil alerts --follow`, with a byte budget per client: a write that would
 * leave more than the budget unsent in this process (the client reads slowly, or never) cuts the
 * client off with a last comment saying why, instead of buffering without bound. Counted.
 */
export class AlertFollowers {
  private readonly clients = new Set<ServerResponse>();
  private readonly stats = { maxBufferedBytes: 0, slowDisconnects: 0, droppedAlerts: 0, refused: 0 };

  constructor(
    private readonly live: EventEmitter,
    private readonly budgetBytes = FOLLOWER_BUFFER_BYTES,
    private readonly maxFollowers = MAX_FOLLOWERS,
  ) {}

  report(): AlertStreamReport {
    let bufferedBytes = 0;
    for (const res of this.clients) bufferedBytes += res.writableLength;
    return { followers: this.clients.size, bufferedBytes, budgetBytes: this.budgetBytes, ...this.stats };
  }

  /** Streams the alerts `wants` accepts to `res` until either side closes. */
  follow(req: IncomingMessage, res: ServerResponse, wants: (a: AlertV1) => boolean): void {
    if (this.clients.size >= this.maxFollowers) {
      this.stats.refused++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `too many alert followers (${this.maxFollowers})` }));
      return;
    }
    this.clients.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const done = () => {
      clearInterval(ping);
      this.live.off('alert', send);
      this.clients.delete(res);
    };
    const cut = () => {
      this.stats.slowDisconnects++;
      const unread = res.writableLength;
      done();
      res.end(`: closed: more than ${this.budgetBytes} bytes left unread (${unread}); vigil alerts --since lists what was missed\n\n`);
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
    const send = (a: AlertV1) => {
      if (wants(a) && !write(`data: ${JSON.stringify(a)}\n\n`)) this.stats.droppedAlerts++;
    };
    const ping = setInterval(() => write(': ping\n\n'), PING_MS);
    write(': vigil alerts\n\n');
    this.live.on('alert', send);
    req.once('close', done);
    res.once('close', done);
  }
}
