import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_TOKEN_FILE, DEFAULT_DATA_DIR } from '@vigil/schema';
import { isConsoleRoute } from './console-static.js';

export const isLoopback = (h: string): boolean => h === '127.0.0.1' || h === '::1' || h === 'localhost';

/**
 * Paths that answer without the token: liveness, which says nothing else, and enrollment and renewal,
 * which carry their own credential (a token, a key's signature: enroll/service.ts). The console's page
 * is open too (console-static.ts), never its data.
 */
export const OPEN_PATHS = new Set(['/healthz', '/api/v1/enroll', '/api/v1/hosts/renew']);

export interface GuardOptions {
  /** The address the API listens on: a name there is one clients may use. */
  bindHost: string;
  /** More host names clients reach the API by (a proxy's, a container's). */
  allowedHosts?: string[];
  /** The bearer token every request but OPEN_PATHS must carry; none: the API answers without one. */
  token?: string;
}

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower case; null when malformed. */
export function hostOfHeader(header: string | undefined): string | null {
  if (!header) return null;
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(header);
  if (v6) return v6[1]!.toLowerCase();
  const named = /^([^:[\]\s/@]+)(?::\d{1,5})?$/.exec(header);
  return named ? named[1]!.toLowerCase() : null;
}

/**
 * Which host names the API answers to: IP literals, `localhost`, the bind address and the allowed
 * names. A page on another site that makes its own DNS name point at 127.0.0.1 (DNS rebinding) sends
 * that name as Host, so it is refused even where the API has no token.
 */
export function hostAllowed(opts: Pick<GuardOptions, 'bindHost' | 'allowedHosts'>): (name: string) => boolean {
  const names = new Set([
    'localhost',
    opts.bindHost.toLowerCase(),
    ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase()),
  ]);
  return (name) => isIP(name) !== 0 || names.has(name);
}

/** Where a client finds the token: what the vigil CLI reads, and where the control plane keeps it. */
export const TOKEN_HINT = `send "Authorization: Bearer <token>"; the vigil CLI takes it from VIGIL_API_TOKEN, else from the ${API_TOKEN_FILE} file in the data directory ($VIGIL_DATA_DIR/${API_TOKEN_FILE}, default ${DEFAULT_DATA_DIR}/${API_TOKEN_FILE}: root and group vigil may read it)`;

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The API's first hook: a request must name an allowed Host, come from no other site (a browser's
 * Origin), and carry the bearer token. Every refusal says which of them failed.
 */
export function requestGuard(opts: GuardOptions): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const allowed = hostAllowed(opts);
  const expected = opts.token === undefined ? null : digest(`Bearer ${opts.token}`);
  return async (req, reply) => {
    const host = hostOfHeader(req.headers.host);
    if (host === null || !allowed(host)) {
      return reply.code(421).send({
        error: `this API does not answer to Host ${JSON.stringify(req.headers.host ?? '')}: use 127.0.0.1 or localhost, or start it with --api-allowed-host`,
      });
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let name: string | null = null;
      try {
        name = new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
      } catch {
        /* not a URL ("null" from a sandboxed page): refused */
      }
      if (name === null || !allowed(name))
        return reply.code(403).send({ error: `requests from web pages of ${JSON.stringify(origin)} are refused` });
    }
    if (expected === null || OPEN_PATHS.has(req.url) || isConsoleRoute(req)) return;
    const given = req.headers.authorization;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      return reply.code(401).send({
        error: `${given === undefined ? 'this API wants its bearer token' : 'wrong bearer token'}: ${TOKEN_HINT}`,
      });
    }
  };
}
