import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { durationToMs, type WebhookOutput } from '@vigil/schema';
import { postJson } from './http-post.js';
import type { OutputMessage, Sender } from './message.js';

/** The webhook's signing key could not be read. */
export class WebhookSecretError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookSecretError';
  }
}

/** The HMAC-SHA256 of a body, as `X-Vigil-Signature` carries it. */
export const signature = (key: Buffer, body: string): string =>
  `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

/** The key in a secret file: its bytes, without the trailing newline an editor adds. */
export function readSecret(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WebhookSecretError(`webhook secretFile ${path}: ${(err as Error).message}`, { cause: err });
  }
  const key = text.replace(/\r?\n$/, '');
  if (key.length === 0) throw new WebhookSecretError(`webhook secretFile ${path} is empty`);
  return Buffer.from(key, 'utf8');
}

/**
 * POSTs `{kind, data}` as JSON: the alert or the incident as Vigil stores it. `X-Vigil-Delivery` is
 * the same for every attempt at one message (receivers dedupe on it); `X-Vigil-Signature` signs the
 * exact body bytes when a secretFile is configured.
 */
export class WebhookSender implements Sender {
  private readonly key: Buffer | null;
  private readonly timeoutMs: number;

  constructor(private readonly cfg: WebhookOutput) {
    this.key = cfg.secretFile ? readSecret(cfg.secretFile) : null;
    this.timeoutMs = durationToMs(cfg.timeout);
  }

  async send(m: OutputMessage): Promise<void> {
    const body = JSON.stringify({ kind: m.kind, data: m.data });
    await postJson(
      this.cfg.url,
      body,
      {
        ...this.cfg.headers,
        'x-vigil-delivery': m.deliveryId,
        ...(this.key ? { 'x-vigil-signature': signature(this.key, body) } : {}),
      },
      this.timeoutMs,
    );
  }

  async close(): Promise<void> {}
}
