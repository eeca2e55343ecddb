import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ResponseOrderV1, responseSigningBytes } from '@vigil/schema';

export class ResponseKeyError extends Error {
  override name = 'ResponseKeyError';
}

/** The control plane's public response key (Ed25519, PEM) from a file; anything else is an error. */
export function loadResponseKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(path));
  } catch (err) {
    throw new ResponseKeyError(`cannot read the response key ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new ResponseKeyError(`the response key ${path} is ${key.asymmetricKeyType}, not ed25519`);
  return key;
}

/** An order that passed every check on the message itself; the live target is checked apart (target.ts). */
export type OrderCheck =
  | { ok: true; order: ResponseOrderV1 }
  /** `orderId`: what to answer to, when the message names one (none: nothing to answer, only a count). */
  | { ok: false; orderId: string | null; check: string; reason: string };

/** Order ids are kept until their order expires: a replay inside its life is refused as seen. */
const MAX_SEEN = 100_000;

/**
 * Checks an order message before anything on the host is looked at: it parses, it is for this host,
 * the control plane's key signed it, it has not expired, and its id was not seen before. Ids are
 * remembered only once the signature holds, so unsigned junk cannot fill the memory of ids.
 */
export class OrderChecker {
  private readonly seen = new Map<string, bigint>();

  constructor(
    private readonly host: string,
    private readonly key: KeyObject,
    private readonly nowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {}

  check(data: Uint8Array): OrderCheck {
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch {
      return { ok: false, orderId: null, check: 'json', reason: 'the order is not JSON' };
    }
    const id = (raw as { id?: unknown } | null)?.id;
    const orderId = typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
    const parsed = ResponseOrderV1.safeParse(raw);
    if (!parsed.success)
      return { ok: false, orderId, check: 'schema', reason: `the order does not parse: ${parsed.error.message}` };
    const order = parsed.data;
    if (order.host !== this.host)
      return { ok: false, orderId, check: 'host', reason: `the order is for host ${order.host}, not ${this.host}` };
    if (!this.signedByControlPlane(order))
      return { ok: false, orderId, check: 'signature', reason: "the signature is not the control plane's" };
    const now = this.nowNs();
    if (BigInt(order.expiresTs) <= now)
      return { ok: false, orderId, check: 'expired', reason: 'the order expired before it arrived' };
    this.forgetExpired(now);
    if (this.seen.has(order.id))
      return { ok: false, orderId, check: 'replay', reason: 'an order with this id was received before' };
    if (this.seen.size >= MAX_SEEN)
      return { ok: false, orderId, check: 'busy', reason: 'too many orders alive at once' };
    this.seen.set(order.id, BigInt(order.expiresTs));
    return { ok: true, order };
  }

  private signedByControlPlane(order: ResponseOrderV1): boolean {
    const signature = Buffer.from(order.signature, 'base64');
    if (signature.length !== 64) return false;
    try {
      return verify(null, responseSigningBytes(order), this.key, signature);
    } catch {
      return false;
    }
  }

  private forgetExpired(now: bigint): void {
    for (const [id, expires] of this.seen) if (expires <= now) this.seen.delete(id);
  }
}
