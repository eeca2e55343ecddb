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
import type { IssuedCert } from '../certs.js';

/** Where deploy installs the control plane's CA on a host. */
export const SENSOR_CA_FILE = `${DEFAULT_CREDS_DIR}/ca.pem`;
/** Where deploy installs a host's own client certificate and key (--client-certs, mutual TLS). */
export const SENSOR_CLIENT_CERT_FILE = `${DEFAULT_CREDS_DIR}/client.pem`;
export const SENSOR_CLIENT_KEY_FILE = `${DEFAULT_CREDS_DIR}/client-key.pem`;

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export type Credentials =
  /**
   * `ca`: the CA (PEM) the control plane's certificates are signed by, installed on each host for
   * HTTPS and TLS to NATS. `clientCert`: issues a host its own client certificate (mutual TLS).
   */
  | {
      kind: 'enroll';
      api: ApiTarget;
      enrollUrl: string;
      ca?: string;
      clientCert?: (host: string) => Promise<IssuedCert>;
    }
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
    if (creds.clientCert) {
      lines.push(envLine('VIGIL_CLIENT_CERT', SENSOR_CLIENT_CERT_FILE));
      lines.push(envLine('VIGIL_CLIENT_KEY', SENSOR_CLIENT_KEY_FILE));
    }
  }
  return `# Written by vigil deploy.\n${lines.join('\n')}\n`;
}

/** A file deploy writes on a host beside sensor.env (the CA, the host's client certificate and key). */
export interface HostFile {
  path: string;
  content: string;
  mode: 0o600 | 0o644;
}

/** The TLS files host `hostId` gets: the CA, and with `clientCert` a certificate of its own. */
export async function hostTlsFiles(hostId: string, creds: Credentials): Promise<HostFile[]> {
  if (creds.kind !== 'enroll') return [];
  const files: HostFile[] = creds.ca ? [{ path: SENSOR_CA_FILE, content: creds.ca, mode: 0o644 }] : [];
  if (creds.clientCert) {
    let issued: IssuedCert;
    try {
      issued = await creds.clientCert(hostId);
    } catch (cause) {
      throw new CredentialsError(`no client certificate for ${hostId}: ${(cause as Error).message}`, { cause });
    }
    files.push({ path: SENSOR_CLIENT_CERT_FILE, content: issued.certPem, mode: 0o644 });
    files.push({ path: SENSOR_CLIENT_KEY_FILE, content: issued.keyPem, mode: 0o600 });
  }
  return files;
}
