import { join } from 'node:path';
import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import {
  CONTROL_PLANE_INBOX_PREFIX,
  HostId,
  hostPublishSubjects,
  responseOrderSubject,
  sensorInboxPrefix,
} from '@vigil/schema';
import { LocalSecretsError, loadOrCreateSecret, secureDir, writeAtomic } from './local-secrets.js';

/** Where `vigil up` keeps what only root may read: NATS passwords and the nats-server configuration. */
export const SECRETS_DIR = 'secrets';
export const CONTROL_PLANE_NATS_USER = 'vigil-control-plane';
export const sensorNatsUser = (host: string): string => `vigil-sensor-${host}`;

export interface LocalNatsAuth {
  /** The nats-server configuration (mode 0600): its users and what each may do. */
  configFile: string;
  /** How the control plane connects: full rights. */
  controlPlane: ConnectionOptions;
  /** How this host's sensor connects: its own subjects, its own replies, nothing else. */
  sensor: ConnectionOptions;
}

/**
 * The nats-server configuration of `vigil up`: every connection authenticates. The sensor user may
 * publish its host's events and heartbeats (a JetStream publish is a plain publish whose ack comes
 * back on the reply inbox) and subscribe to its own inbox prefix and its host's response orders only: no JetStream API (it cannot
 * delete the consumer or purge a stream), no other host's subjects, no other user's replies.
 */
export function natsServerConfig(host: string, passwords: { controlPlane: string; sensor: string }): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return `# Written by \`vigil up\` at each start from the passwords beside it; root only.
authorization {
  users: [
    { user: ${JSON.stringify(CONTROL_PLANE_NATS_USER)}, password: ${JSON.stringify(passwords.controlPlane)}, permissions: { publish: ">", subscribe: ">" } }
    { user: ${JSON.stringify(sensorNatsUser(host))}, password: ${JSON.stringify(passwords.sensor)}, permissions: {
        publish: { allow: ${list(hostPublishSubjects(host))} }
        subscribe: { allow: ${list([`${sensorInboxPrefix(host)}.>`, responseOrderSubject(host)])} }
    } }
  ]
}
`;
}

/**
 * The credentials of `vigil up`'s nats-server, created at the first start and kept in
 * `<dataDir>/secrets/` (0700, files 0600), reused at every later one. The configuration is written
 * again each start, so a new host id gets its sensor user.
 */
export function localNatsAuth(dataDir: string, host: string, log: Logger): LocalNatsAuth {
  if (!HostId.safeParse(host).success)
    throw new LocalSecretsError(
      `host id ${JSON.stringify(host)} is not one NATS subject token (letters, digits, "_" and "-")`,
    );
  const dir = join(dataDir, SECRETS_DIR);
  // Never the reader group: a member may use the API, not publish as the sensor.
  secureDir(dir, null);
  const secret = (name: string, what: string) => loadOrCreateSecret(join(dir, name), { gid: null, log, what });
  const passwords = {
    controlPlane: secret('nats-control-plane.password', 'NATS password of the control plane'),
    sensor: secret('nats-sensor.password', 'NATS password of the sensor'),
  };
  const configFile = join(dir, 'nats-server.conf');
  writeAtomic(configFile, natsServerConfig(host, passwords), 0o600, null);
  return {
    configFile,
    controlPlane: {
      user: CONTROL_PLANE_NATS_USER,
      pass: passwords.controlPlane,
      inboxPrefix: CONTROL_PLANE_INBOX_PREFIX,
    },
    sensor: { user: sensorNatsUser(host), pass: passwords.sensor, inboxPrefix: sensorInboxPrefix(host) },
  };
}
