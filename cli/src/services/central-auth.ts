import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'nats';
import { EnrollStore, NatsAuthority, type EnrollOptions } from '@vigil/control-plane/enroll';

/**
 * The NATS operator keys a control plane started alone (`vigil control-plane --nats-secrets DIR`)
 * holds, as `vigil up` holds them in <data-dir>/secrets: it connects with a user JWT of its own and
 * enrolls hosts, signing their credentials and pushing revocations to the nats-server the
 * configuration from `vigil nats-config` runs. The enrollment state (tokens, hosts, revocations) is
 * kept in `stateDir`, which must persist.
 */
export async function centralNatsAuth(o: {
  secretsDir: string;
  stateDir: string;
  /** The control plane's own connection (servers, TLS). */
  nats: ConnectionOptions;
  /** What enrolling sensors are told; default: the servers the control plane uses. */
  advertise?: string[] | undefined;
}): Promise<{ nats: ConnectionOptions; enroll: EnrollOptions }> {
  const authority = new NatsAuthority(o.secretsDir);
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const { options } = await authority.controlPlaneCreds();
  const servers = ([] as string[]).concat(o.nats.servers ?? []);
  return {
    nats: { ...o.nats, ...options },
    enroll: {
      authority,
      stateDir: o.stateDir,
      natsUrls: o.advertise?.length ? o.advertise : servers,
      push: { servers, ...(o.nats.tls ? { tls: o.nats.tls } : {}) },
    },
  };
}

/**
 * The operator-mode authorization for a nats-server (or each server of a cluster) that a control
 * plane with these keys enrolls hosts on: operator, system account and a full resolver preloaded with
 * the accounts, their revocations as kept in `stateDir`. Makes the keys on the first call.
 */
export async function natsAuthConfig(secretsDir: string, resolverDir: string, stateDir: string): Promise<string> {
  const authority = new NatsAuthority(secretsDir);
  const { config } = await authority.serverConfig(resolverDir, EnrollStore.revocationsIn(stateDir));
  return config;
}

export const ENROLL_STATE_DIR = 'enroll';
export const enrollStateDir = (dataDir: string): string => join(dataDir, ENROLL_STATE_DIR);
