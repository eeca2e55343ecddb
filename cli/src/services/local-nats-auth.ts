import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import { HostId, sensorInboxPrefix, type TlsConfig } from '@vigil/schema';
import { EnrollStore, NatsAuthority, hostPermissions } from '@vigil/control-plane/enroll';
import { LocalSecretsError, secureDir, writeAtomic } from './local-secrets.js';

/** Where `vigil up` keeps what only root may read: the NATS operator keys, its configuration, the sensor's credential. */
export const SECRETS_DIR = 'secrets';
/** The local sensor's NATS credential (user JWT and nkey seed), written at each start. */
export const LOCAL_SENSOR_CREDS = 'nats-sensor.creds';
/** Account JWTs nats-server's resolver keeps (public: they hold no key). */
export const RESOLVER_DIR = 'nats-accounts';

export interface LocalNatsAuth {
  /** The nats-server configuration (mode 0600): the trusted operator and its accounts. */
  configFile: string;
  /** How the control plane connects: full rights. */
  controlPlane: ConnectionOptions;
  /** How this host's sensor connects (in this process): its own subjects, its own replies, nothing else. */
  sensor: ConnectionOptions;
  /** The same credential as a .creds file, for the sensor's own process. */
  sensorCredsFile: string;
  /** Signs enrolled hosts' credentials and pushes revocations (the control plane's enrollment). */
  authority: NatsAuthority;
  /** Where the enrollment tokens and hosts are kept. */
  stateDir: string;
}

/**
 * `vigil up`'s nats-server in operator mode (NATS decentralised auth): an operator, a system account
 * and the VIGIL account with a signing key, made at the first start and kept in `<dataDir>/secrets/`
 * (0700, files 0600). Every start writes the configuration again with the account's current
 * revocations, and gives the control plane (full rights) and this host's sensor (its host's subjects,
 * as an enrolled host gets) fresh user credentials. Every connection authenticates with a user JWT.
 * With `tls`, every client connects over TLS (and presents a certificate the CA signed, with clientAuth).
 */
export async function localNatsAuth(
  dataDir: string,
  host: string,
  log: Logger,
  tls?: TlsConfig | null,
): Promise<LocalNatsAuth> {
  if (!HostId.safeParse(host).success)
    throw new LocalSecretsError(
      `host id ${JSON.stringify(host)} is not one NATS subject token (letters, digits, "_" and "-")`,
    );
  const dir = join(dataDir, SECRETS_DIR);
  // Never the reader group: a member may use the API, not publish as the sensor.
  secureDir(dir, null);
  const authority = new NatsAuthority(dir);
  const { config } = await authority.serverConfig(join(dataDir, RESOLVER_DIR), EnrollStore.revocationsIn(dir));
  const configFile = join(dir, 'nats-server.conf');
  writeAtomic(configFile, tls ? `${config}\n${natsTlsBlock(tls)}` : config, 0o600, null);
  const cp = await authority.controlPlaneCreds();
  const sensor = await authority.localUserCreds(`vigil-sensor-${host}`, hostPermissions(host), sensorInboxPrefix(host));
  const sensorCredsFile = join(dir, LOCAL_SENSOR_CREDS);
  writeAtomic(sensorCredsFile, sensor.creds, 0o600, null);
  log.debug({ 'nats.account': authority.accountPublicKey }, 'nats-server runs in operator mode');
  return { configFile, controlPlane: cp.options, sensor: sensor.options, sensorCredsFile, authority, stateDir: dir };
}

/** nats-server's tls {} block: TLS for every client; `verify` requires their certificates (mutual TLS). */
export function natsTlsBlock(tls: TlsConfig): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(tls.cert)}`,
    `  key_file: ${JSON.stringify(tls.key)}`,
    ...(tls.ca ? [`  ca_file: ${JSON.stringify(tls.ca)}`] : []),
    `  verify: ${tls.clientAuth}`,
    '  timeout: 2',
    '}',
    '',
  ].join('\n');
}

/**
 * The whole configuration of the nats-server `vigil up` runs, as one file a nats-server started by
 * other means can use: its listen address and store (flags there), then what localNatsAuth writes.
 */
export async function printableNatsConfig(o: {
  dataDir: string;
  host: string;
  listen: string;
  port: number;
  tls: TlsConfig | null;
  log: Logger;
}): Promise<string> {
  secureDir(o.dataDir, null);
  const auth = await localNatsAuth(o.dataDir, o.host, o.log, o.tls);
  const listen = o.listen.includes(':') ? `[${o.listen}]` : o.listen;
  return [
    `listen: ${JSON.stringify(`${listen}:${o.port}`)}`,
    `jetstream { store_dir: ${JSON.stringify(join(o.dataDir, 'nats'))} }`,
    readFileSync(auth.configFile, 'utf8'),
  ].join('\n');
}
