/** A delivery the receiver did not take: its answer or the network's error. */
export class OutputDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputDeliveryError';
  }
}

/**
 * POSTs `body` and resolves on a 2xx answer; anything else (another status, a redirect, a timeout, a
 * network error) throws OutputDeliveryError. Redirects are not followed: a receiver's URL is the one
 * configured, and the signature was made for it.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { ...headers, 'content-type': 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    throw new OutputDeliveryError(`POST ${new URL(url).origin}: ${why}`, { cause: err });
  }
  // The answer's body is not read: only its status counts.
  await res.body?.cancel().catch(() => {});
  if (res.status < 200 || res.status > 299)
    throw new OutputDeliveryError(`POST ${new URL(url).origin}: HTTP ${res.status} ${res.statusText}`.trim());
}
