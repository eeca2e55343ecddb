/** The part of a NATS connection that closing needs (kept structural: schema does not depend on nats). */
export interface Closable {
  drain(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
}

/** Drains (flushes what is pending), but never waits on a server that has gone: then it just closes. */
export async function closeNats(nc: Closable, drainMs = 5000): Promise<void> {
  await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => setTimeout(r, drainMs).unref())]);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
