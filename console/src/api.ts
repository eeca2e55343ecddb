import type { AlertV1 } from '@vigil/schema';

/**
 * The console's only way to the control plane: the API token the person typed, kept in this tab's
 * sessionStorage and sent as a bearer token; every answer that is not 2xx becomes an ApiError with
 * the API's own message.
 */

const TOKEN_KEY = 'vigil.apiToken';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Told when the API refuses the token, so the page asks for it again. */
let onUnauthorized: (why: string) => void = () => undefined;
export const whenUnauthorized = (f: (why: string) => void): void => {
  onUnauthorized = f;
};

const headers = (json: boolean): Record<string, string> => {
  const h: Record<string, string> = {};
  const t = token.get();
  if (t) h.authorization = `Bearer ${t}`;
  if (json) h['content-type'] = 'application/json';
  return h;
};

async function failure(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string') message = body.error;
  } catch {
    /* not JSON: the status line says it */
  }
  if (res.status === 401) onUnauthorized(message);
  return new ApiError(res.status, message);
}

/** Query-string of the filter's set values (the API validates them). */
export function queryString(filter: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function get<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: headers(false) });
  } catch (err) {
    throw new ApiError(0, `the control plane does not answer (${String(err)})`, { cause: err });
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, `the control plane does not answer (${String(err)})`, { cause: err });
  }
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/**
 * Follows the server-sent alert stream through fetch, which can send the bearer token (EventSource
 * cannot). Reconnects after a pause when the stream ends; stops when `signal` aborts.
 */
export async function followAlerts(onAlert: (a: AlertV1) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch('/api/v1/alerts/stream', { headers: headers(false), signal });
      if (res.status === 401) {
        await failure(res);
        return;
      }
      if (res.ok && res.body) {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut = buf.indexOf('\n\n');
          while (cut >= 0) {
            for (const line of buf.slice(0, cut).split('\n'))
              if (line.startsWith('data: ')) onAlert(JSON.parse(line.slice(6)) as AlertV1);
            buf = buf.slice(cut + 2);
            cut = buf.indexOf('\n\n');
          }
        }
      }
    } catch {
      /* aborted, or the control plane restarted: try again below */
    }
    if (!signal.aborted) await new Promise((r) => setTimeout(r, 3000));
  }
}
