/**
 * What a target's /etc/vigil/sensor.env says: where NATS is, and how the sensor gets in. Either a
 * fresh one-use enrollment token from the control plane (the sensor trades it for its own NATS
 * credential at its first start), or static NATS credentials (small installs: `{host}` in the user
 * name is the host id, so each host has its own user and subjects).
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_CREDS_DIR,
  ENROLL_TOKEN_ENV,
  ENROLL_URL_ENV,
  EnrollToken,
  type EnrollTokenRequest,
} from '@vigil/schema';
import { createEnrollToken, type ApiTarget } from '../api-client.js';

/** Where deploy installs the control plane's CA on a host. */
export const SENSOR_CA_FILE = `${DEFAULT_CREDS_DIR}/ca.pem`;

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export type Credentials =
  /** `ca`: the CA (PEM) the control plane's certificates are signed by, installed on each host for HTTPS and TLS to NATS. */
  | { kind: 'enroll'; api: ApiTarget; enrollUrl: string; ca?: string }
  | { kind: 'static'; user: string; password: string };

/** The CA (--ca) as deploy installs it on each host: read now, so a bad file stops before any host is touched. */
export function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CredentialsError(`--ca: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new CredentialsError(`--ca: ${path} holds no PEM certificate`);
  return pem;
}

/** A one-use token from `POST /api/v1/hosts/tokens`, valid long enough for a deploy. */
export async function enrollToken(api: ApiTarget): Promise<string> {
  const body: EnrollTokenRequest = { expiresSeconds: 3600, uses: 1 };
  let answer: unknown;
  try {
    answer = await createEnrollToken(api, body);
  } catch (cause) {
    throw new CredentialsError(`no enrollment token: ${(cause as Error).message}`, { cause });
  }
  const parsed = EnrollToken.safeParse(answer);
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
    if (creds.ca) lines.push(envLine('VIGIL_CA', SENSOR_CA_FILE));
  }
  return `# Written by vigil deploy.\n${lines.join('\n')}\n`;
}
