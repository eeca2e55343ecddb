import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_API_URL } from '@vigil/schema';
// undici's fetch: the global one takes no connection options (a CA to trust, a client certificate).
import { Agent, fetch, type Dispatcher, type RequestInit, type Response } from 'undici';
import type {
  AlertQuery,
  AlertV1,
  DetectionsReport,
  EgressQuery,
  EgressReport,
  EventQuery,
  EventV1,
  EnrollToken,
  EnrollTokenRequest,
  HostRow,
  HostsReport,
  QueryResult,
  RespondRequest,
  ResponseRecordV1,
  StatusReport,
} from '@vigil/schema';
import { API_TOKEN_FILE, dataDirFromEnv } from './local-secrets.js';

/** The API a command reads without --api or VIGIL_API. */
export const DEFAULT_API = DEFAULT_API_URL;

export class ApiError extends Error {
  override name = 'ApiError';
  /** The HTTP status the API answered with, when it answered. */
  status?: number;
}

export interface ApiTarget {
  url: string;
  token?: string;
  /** Where the token came from, or why there is none: what a refusal (401) tells the user. */
  tokenSource: string;
  /** HTTPS beyond the system's CAs: the CA to trust, a client certificate (see apiTls). */
  dispatcher?: Dispatcher;
  /** The client certificate presented, if any: what a closed TLS connection suggests. */
  clientCert?: string;
}

/**
 * The API's base URL from what a user typed: `127.0.0.1:8787` (no scheme) means http, and a path
 * ending in the API's own `/api` or `/api/v1` is the base URL with it (the CLI adds those). Anything
 * else that is no http(s) base URL is an error naming the expected form.
 */
export function apiBaseUrl(raw: string, from = '--api'): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const expected = `${from}: ${JSON.stringify(raw)} is not the Vigil API's URL; expected its base URL, like ${DEFAULT_API} or https://vigil.example:8787`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch (cause) {
    throw new ApiError(expected, { cause });
  }
  if (
    (u.protocol !== 'http:' && u.protocol !== 'https:') ||
    u.search ||
    u.hash ||
    u.username ||
    u.password ||
    !u.hostname
  )
    throw new ApiError(expected);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api(\/v1)?$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** The flag that points a command at the API at `url` (with a leading space): nothing when it is the default. */
export const apiFlagFor = (url: string): string => (url === DEFAULT_API ? '' : ` --api ${url}`);

const LOOPBACK_URL = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

/**
 * The API and its token: VIGIL_API_TOKEN, else (for an API on this host) the file the control plane
 * keeps it in, $VIGIL_DATA_DIR/api-token (default DEFAULT_DATA_DIR), readable by root and group vigil.
 */
export function apiTarget(flag: string | undefined, tls: ApiTlsFiles = {}): ApiTarget {
  const url = apiBaseUrl(
    flag ?? process.env.VIGIL_API ?? DEFAULT_API,
    flag !== undefined ? '--api' : process.env.VIGIL_API !== undefined ? 'VIGIL_API' : 'the default API',
  );
  const dispatcher = apiTls(tls);
  return { ...apiToken(url), ...(dispatcher ? { dispatcher } : {}), ...(tls.cert ? { clientCert: tls.cert } : {}) };
}

/** Files for HTTPS: the CA that signed the API's certificate (--ca, VIGIL_CA), a client certificate for mutual TLS. */
export interface ApiTlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** A connection pool that trusts `ca` beside nothing else and presents the client certificate; none without files. */
export function apiTls(files: ApiTlsFiles): Dispatcher | undefined {
  if (!files.ca && !files.cert) return undefined;
  if (files.cert && !files.key) throw new ApiError('--client-cert needs its key: --client-key (or VIGIL_CLIENT_KEY)');
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw new ApiError(`cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
    }
  };
  return new Agent({
    connect: {
      ...(files.ca ? { ca: read(files.ca, 'CA certificate (--ca, VIGIL_CA)') } : {}),
      ...(files.cert ? { cert: read(files.cert, 'client certificate'), key: read(files.key!, 'client key') } : {}),
    },
  });
}

/** The token for the API at `url`. */
function apiToken(url: string): ApiTarget {
  const env = process.env.VIGIL_API_TOKEN;
  if (env) return { url, token: env, tokenSource: 'VIGIL_API_TOKEN' };
  const file = join(dataDirFromEnv(), API_TOKEN_FILE);
  // This host's token goes to this host's API only.
  if (!LOOPBACK_URL.test(url))
    return { url, tokenSource: `VIGIL_API_TOKEN is not set (${file} is read for an API on this host only)` };
  try {
    return { url, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES'
        ? 'permission denied: run as root, or as a member of group vigil'
        : code === 'ENOENT'
          ? 'no such file: set VIGIL_DATA_DIR to the --data-dir of vigil up'
          : (err as Error).message;
    return { url, tokenSource: `VIGIL_API_TOKEN is not set and ${file} cannot be read (${why})` };
  }
}

/** What a 401 means for this target: which token was refused, or where one is to be found. */
function refused(api: ApiTarget): ApiError {
  return new ApiError(
    api.token
      ? `the API at ${api.url} refused the bearer token from ${api.tokenSource} (another control plane's? set VIGIL_API_TOKEN)`
      : `the API at ${api.url} wants its bearer token: ${api.tokenSource}`,
  );
}

/** The TLS errors a user can fix, by the code Node gives them. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/** Why a request never got an answer, in words that name the fix. */
function unreachable(api: ApiTarget, err: unknown): ApiError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (UNTRUSTED.has(code))
    return new ApiError(
      `the API at ${api.url} presented a certificate this CLI does not trust (${code}): pass --ca FILE or set VIGIL_CA to the CA that signed it (\`vigil certs\` writes it as ca.pem)`,
      { cause: err },
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return new ApiError(
      `the API's certificate does not name the host in ${api.url}: use a name or address it has, or make one that does (\`vigil certs --host/--ip\`)`,
      { cause: err },
    );
  // TLS 1.3 tells a client without a certificate only by closing the connection after the handshake.
  if (code === 'UND_ERR_SOCKET' && api.url.startsWith('https:') && !api.clientCert)
    return new ApiError(
      `the API at ${api.url} closed the connection, as one that requires a client certificate (mutual TLS) does to a client without one: pass --client-cert and --client-key (or VIGIL_CLIENT_CERT, VIGIL_CLIENT_KEY)`,
      { cause: err },
    );
  return new ApiError(
    `cannot reach the Vigil API at ${api.url} (is \`vigil up\` running? set --api or VIGIL_API)${code ? ` (${code})` : ''}`,
    { cause: err },
  );
}

/** How long a call waits for the API's answer; a user query may run 30 s there, so it waits longer. */
const CALL_TIMEOUT_MS = 30_000;
const QUERY_TIMEOUT_MS = 45_000;

export async function call<T>(
  api: ApiTarget,
  path: string,
  init: RequestInit = {},
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${api.url}${path}`, {
      ...init,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(api.token ? { authorization: `Bearer ${api.token}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
      ...(api.dispatcher ? { dispatcher: api.dispatcher } : {}),
    });
  } catch (cause) {
    if ((cause as Error).name === 'TimeoutError')
      throw new ApiError(`the Vigil API at ${api.url} did not answer within ${timeoutMs / 1000} s`, { cause });
    throw unreachable(api, cause);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`the API at ${api.url} answered ${res.status} with something that is not JSON`);
  }
  if (res.status === 401) throw refused(api);
  if (!res.ok) {
    const err = new ApiError((body as { error?: string }).error ?? `the API answered ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body as T;
}

const params = (q: object) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  return p;
};

export async function fetchEvents(api: ApiTarget, q: EventQuery): Promise<EventV1[]> {
  return (await call<{ events: EventV1[] }>(api, `/api/v1/events?${params(q)}`)).events;
}

export const runQuery = (api: ApiTarget, sql: string) =>
  call<QueryResult>(api, '/api/v1/query', { method: 'POST', body: JSON.stringify({ sql }) }, QUERY_TIMEOUT_MS);

export const fetchEgress = (api: ApiTarget, q: EgressQuery) => call<EgressReport>(api, `/api/v1/egress?${params(q)}`);

/** Waits for the sensor's answer: the control plane gives up on it well before this. */
export const postRespond = (api: ApiTarget, req: RespondRequest) =>
  call<ResponseRecordV1>(api, '/api/v1/respond', { method: 'POST', body: JSON.stringify(req) });

export const fetchStatus = (api: ApiTarget) => call<StatusReport>(api, '/api/v1/status');

export const fetchDetections = (api: ApiTarget) => call<DetectionsReport>(api, '/api/v1/detections');

export async function fetchAlerts(api: ApiTarget, q: AlertQuery): Promise<AlertV1[]> {
  return (await call<{ alerts: AlertV1[] }>(api, `/api/v1/alerts?${params(q)}`)).alerts;
}

/** Streams alerts as the control plane raises them (server-sent events) until `signal` aborts. */
export const followAlerts = (
  api: ApiTarget,
  q: AlertQuery,
  onAlert: (a: AlertV1) => void,
  signal: AbortSignal,
): Promise<void> => followStream(api, `/api/v1/alerts/stream?${params(q)}`, 'alert', onAlert, signal);

/** Streams events as the control plane validates them (server-sent events) until `signal` aborts. */
export const followEvents = (
  api: ApiTarget,
  q: Omit<EventQuery, 'limit'>,
  onEvent: (ev: EventV1) => void,
  signal: AbortSignal,
): Promise<void> => followStream(api, `/api/v1/events/stream?${params(q)}`, 'event', onEvent, signal);

/** Reads one server-sent stream of JSON items (`data:` lines) until `signal` aborts or the server ends it. */
async function followStream<T>(
  api: ApiTarget,
  path: string,
  noun: string,
  onItem: (item: T) => void,
  signal: AbortSignal,
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${api.url}${path}`, {
      headers: api.token ? { authorization: `Bearer ${api.token}` } : {},
      signal,
      ...(api.dispatcher ? { dispatcher: api.dispatcher } : {}),
    });
  } catch (cause) {
    if (signal.aborted) return;
    throw unreachable(api, cause);
  }
  if (res.status === 401) throw refused(api);
  if (!res.ok || !res.body)
    throw new ApiError(`the API answered ${res.status} to the ${noun} stream: ${(await res.text()).slice(0, 500)}`);
  const decoder = new TextDecoder();
  let buffer = '';
  // The server's last comment when it ends the stream (it is stopping, or this follower is too slow).
  let closing = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data) onItem(JSON.parse(data) as T);
        if (block.startsWith(': closed: ')) closing = block.slice(10);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  if (!signal.aborted)
    throw new ApiError(
      closing ? `the ${noun} stream closed: ${closing}` : `the ${noun} stream closed (control plane stopped?)`,
    );
}

export const createEnrollToken = (api: ApiTarget, req: EnrollTokenRequest) =>
  call<EnrollToken>(api, '/api/v1/hosts/tokens', { method: 'POST', body: JSON.stringify(req) });

export const fetchHosts = (api: ApiTarget) => call<HostsReport>(api, '/api/v1/hosts');

export const revokeHost = (api: ApiTarget, host: string) =>
  call<HostRow>(api, `/api/v1/hosts/${encodeURIComponent(host)}/revoke`, { method: 'POST', body: '{}' });
