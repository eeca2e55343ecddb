/**
 * What a target's /etc/vigil/sensor.env says: where NATS is, and how the sensor gets in. Either a
 * fresh one-use enrollment token from the control plane (the sensor trades it for its own NATS
 * credential at its first start), or static NATS credentials (small installs: `{host}` in the user
 * name is the host id, so each host has its own user and subjects).
 */
import { ENROLL_TOKEN_ENV, ENROLL_URL_ENV, EnrollToken, type EnrollTokenRequest } from '@vigil/schema';
import type { ApiTarget } from '../api-client.js';

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export type Credentials =
  | { kind: 'enroll'; api: ApiTarget; enrollUrl: string }
  | { kind: 'static'; user: string; password: string };

/** A one-use token from `POST /api/v1/hosts/tokens`, valid long enough for a deploy. */
export async function enrollToken(api: ApiTarget): Promise<string> {
  const body: EnrollTokenRequest = { expiresSeconds: 3600, uses: 1 };
  let res: Response;
  try {
    res = await fetch(`${api.url}/api/v1/hosts/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(api.token ? { authorization: `Bearer ${api.token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new CredentialsError(`cannot reach the Vigil API at ${api.url} for an enrollment token`, { cause });
  }
  const text = await res.text();
  if (!res.ok) throw new CredentialsError(`the API refused an enrollment token (${res.status}): ${text.slice(0, 300)}`);
  const parsed = EnrollToken.safeParse(JSON.parse(text));
  if (!parsed.success) throw new CredentialsError('the API answered an enrollment token that is not one');
  return parsed.data.token;
}

/** One `KEY="value"` line as systemd's EnvironmentFile reads it. */
export function envLine(key: string, value: string): string {
  if (/[\n\r\0]/.test(value)) throw new CredentialsError(`${key} holds a line break or NUL`);
  return `${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/**
 * sensor.env for host `hostId`; an enrollment token is made now, one per host. An enrolled sensor
 * connects to the NATS URLs its enrollment answered, so `natsUrl` is needed for static credentials only.
 */
export async function sensorEnv(hostId: string, natsUrl: string | undefined, creds: Credentials): Promise<string> {
  const lines = natsUrl ? [envLine('VIGIL_NATS', natsUrl)] : [];
  if (creds.kind === 'static') {
    if (!natsUrl) throw new CredentialsError('static NATS credentials need the NATS URL (--nats-url)');
    lines.push(envLine('VIGIL_NATS_USER', creds.user.replaceAll('{host}', hostId)));
    lines.push(envLine('VIGIL_NATS_PASSWORD', creds.password));
  } else {
    lines.push(envLine(ENROLL_URL_ENV, creds.enrollUrl));
    lines.push(envLine(ENROLL_TOKEN_ENV, await enrollToken(creds.api)));
  }
  return `# Written by vigil deploy.\n${lines.join('\n')}\n`;
}
