import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmtCreds } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { credsAuthenticator } from 'nats';
import type { Logger } from 'pino';
import { z } from 'zod/v4';
import { EnrollResponse, renewProof, SENSOR_CREDS_FILE, type EnrollRequest, type RenewRequest } from '@vigil/schema';
import { type ApiError, apiBaseUrl, apiTls, call, type ApiTarget, type ApiTlsFiles } from './api-client.js';
import { secureDir, writeAtomic } from './local-secrets.js';

export class SensorEnrollError extends Error {
  override name = 'SensorEnrollError';
}

/** Beside the .creds file: where the credential came from and when it is due for renewal (no secret). */
export const ENROLLMENT_FILE = 'enrollment.json';
const Enrollment = z.object({
  enrollUrl: z.string(),
  natsUrls: z.array(z.string()),
  issuedTs: z.string(),
  expiresTs: z.string(),
});
type Enrollment = z.infer<typeof Enrollment>;

export interface SensorCredential {
  credsFile: string;
  natsUrls: string[];
  /** Reads the .creds file at each (re)connect, so a renewed credential is used from the next one on. */
  authenticator: ReturnType<typeof credsAuthenticator>;
  /** Checks hourly whether the credential is in the last third of its life and renews it then; stop() ends the checks. */
  renewals: () => { stop: () => void };
}

const te = new TextEncoder();

/** POST to the control plane's enrollment API (HTTPS with the CA and client certificate `tls` names). */
async function post<T>(target: ApiTarget, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
  let answer: unknown;
  try {
    answer = await call<unknown>(target, path, { method: 'POST', body: JSON.stringify(body) });
  } catch (cause) {
    const status = (cause as ApiError).status;
    throw new SensorEnrollError(
      status
        ? `${target.url}${path} refused (${status}): ${(cause as Error).message}`
        : `enrollment at ${target.url}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const parsed = schema.safeParse(answer);
  if (!parsed.success) throw new SensorEnrollError(`${target.url}${path} answered something that is not an enrollment`);
  return parsed.data;
}

/** The enrollment API at `url`, over HTTPS with these files where given; enrollment needs no API token. */
const enrollTarget = (url: string, tls: ApiTlsFiles): ApiTarget => {
  const dispatcher = apiTls(tls);
  return {
    url: apiBaseUrl(url, '--enroll'),
    tokenSource: 'enrollment takes a token of its own (--token)',
    ...(dispatcher ? { dispatcher } : {}),
    ...(tls.cert ? { clientCert: tls.cert } : {}),
  };
};

/**
 * The sensor's own NATS credential in `credsDir` (root only): the one enrolled earlier, or, when
 * there is none and an enrollment URL and token are given, a new one. The key pair is made here and
 * its seed is written only to the .creds file; the control plane receives the public key alone.
 * Null when there is no credential and nothing to enroll with.
 */
export async function sensorCredential(o: {
  credsDir: string;
  host: string;
  version: string;
  enrollUrl?: string | undefined;
  token?: string | undefined;
  /** HTTPS to the control plane: the CA that signed its certificate, a client certificate where it asks for one. */
  tls?: ApiTlsFiles;
  log: Logger;
}): Promise<SensorCredential | null> {
  const credsFile = join(o.credsDir, SENSOR_CREDS_FILE);
  const stateFile = join(o.credsDir, ENROLLMENT_FILE);
  let state: Enrollment | null = null;
  try {
    readFileSync(credsFile);
    state = Enrollment.parse(JSON.parse(readFileSync(stateFile, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SensorEnrollError(`cannot read the sensor credential in ${o.credsDir}: ${(err as Error).message}`, {
        cause: err,
      });
  }
  if (!state) {
    if (!o.enrollUrl || !o.token) return null;
    secureDir(o.credsDir, null);
    const user = createUser();
    const req: EnrollRequest = { token: o.token, host: o.host, publicKey: user.getPublicKey(), version: o.version };
    const res = await post(enrollTarget(o.enrollUrl, o.tls ?? {}), '/api/v1/enroll', req, EnrollResponse);
    writeAtomic(credsFile, new TextDecoder().decode(fmtCreds(res.jwt, user)), 0o600, null);
    state = {
      enrollUrl: o.enrollUrl,
      natsUrls: res.natsUrls,
      issuedTs: new Date().toISOString(),
      expiresTs: res.expiresTs,
    };
    writeAtomic(stateFile, `${JSON.stringify(state)}\n`, 0o600, null);
    o.log.info({ host: o.host, publicKey: user.getPublicKey(), expiresTs: res.expiresTs }, 'sensor enrolled');
  }
  const renewer = renewal({ credsFile, stateFile, host: o.host, state, tls: o.tls ?? {}, log: o.log });
  // Before connecting: a credential near its end is replaced before it is used.
  await renewer.check();
  return {
    credsFile,
    natsUrls: renewer.natsUrls(),
    authenticator: credsAuthenticator(() => readFileSync(credsFile)),
    renewals: () => {
      const timer = setInterval(() => void renewer.check(), 3600_000);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    },
  };
}

/** Renews the credential when it is in the last third of its life (check() says nothing otherwise). */
function renewal(o: {
  credsFile: string;
  stateFile: string;
  host: string;
  state: Enrollment;
  tls: ApiTlsFiles;
  log: Logger;
}): {
  check: () => Promise<void>;
  natsUrls: () => string[];
} {
  let state = o.state;
  const check = async () => {
    const issued = Date.parse(state.issuedTs);
    const expires = Date.parse(state.expiresTs);
    if (Date.now() < expires - (expires - issued) / 3) return;
    try {
      const seed = /^SU[A-Z2-7]{56}$/m.exec(readFileSync(o.credsFile, 'utf8'))?.[0];
      if (!seed) throw new SensorEnrollError(`${o.credsFile} holds no user seed`);
      const kp = fromSeed(te.encode(seed));
      const ts = Date.now();
      const req: RenewRequest = {
        host: o.host,
        publicKey: kp.getPublicKey(),
        ts,
        signature: Buffer.from(kp.sign(te.encode(renewProof(o.host, ts)))).toString('base64url'),
      };
      const res = await post(enrollTarget(state.enrollUrl, o.tls), '/api/v1/hosts/renew', req, EnrollResponse);
      writeAtomic(o.credsFile, new TextDecoder().decode(fmtCreds(res.jwt, kp)), 0o600, null);
      state = { ...state, natsUrls: res.natsUrls, issuedTs: new Date(ts).toISOString(), expiresTs: res.expiresTs };
      writeAtomic(o.stateFile, `${JSON.stringify(state)}\n`, 0o600, null);
      o.log.info({ expiresTs: res.expiresTs }, 'sensor credential renewed');
    } catch (err) {
      o.log.warn({ err }, 'sensor credential not renewed; trying again within the hour');
    }
  };
  return { check, natsUrls: () => state.natsUrls };
}
