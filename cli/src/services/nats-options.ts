import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from 'nats';

export class NatsOptionsError extends Error {
  override name = 'NatsOptionsError';
}

/** How sensors, the control plane and the CLI authenticate to NATS (secrets also from the environment). */
export const natsAuthFlags = {
  'nats-user': Flags.string({
    description: 'NATS user (password from --nats-pass or VIGIL_NATS_PASSWORD)',
    env: 'VIGIL_NATS_USER',
  }),
  'nats-pass': Flags.string({ description: 'NATS password', env: 'VIGIL_NATS_PASSWORD' }),
  'nats-token': Flags.string({ description: 'NATS token', env: 'VIGIL_NATS_TOKEN' }),
  'nats-creds': Flags.string({ description: 'NATS credentials file (JWT + nkey seed)', env: 'VIGIL_NATS_CREDS' }),
  'nats-nkey': Flags.string({ description: 'file holding an nkey seed', env: 'VIGIL_NATS_NKEY' }),
  'nats-tls-ca': Flags.string({ description: 'CA certificate to verify the NATS server (enables TLS)' }),
  'nats-tls-cert': Flags.string({ description: 'client certificate for mutual TLS' }),
  'nats-tls-key': Flags.string({ description: 'client key for mutual TLS' }),
  'nats-inbox-prefix': Flags.string({
    description:
      "subject prefix of the replies this connection receives (default: _INBOX_sensor.<host-id> for a sensor, _INBOX_control-plane for the control plane); the NATS user's subscribe permission names it (deploy/nats-server.conf)",
    env: 'VIGIL_NATS_INBOX_PREFIX',
  }),
};

type AuthFlags = { [K in keyof typeof natsAuthFlags]?: string | undefined };

const read = (path: string, what: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new NatsOptionsError(`cannot read the ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
};

/**
 * Connection options from the flags. `servers`: one URL, or a cluster's URLs separated by commas (a
 * client whose server goes away reconnects to another). `inboxPrefix`: this part's default inbox prefix (see
 * sensorInboxPrefix in the schema), so a server can keep each user's replies to that user.
 */
export function natsOptions(servers: string, f: AuthFlags, inboxPrefix?: string): ConnectionOptions {
  const urls = servers
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  const o: ConnectionOptions = { servers: urls.length === 1 ? urls[0]! : urls };
  const prefix = f['nats-inbox-prefix'] ?? inboxPrefix;
  if (prefix) o.inboxPrefix = prefix;
  if (f['nats-user']) {
    o.user = f['nats-user'];
    if (f['nats-pass'] !== undefined) o.pass = f['nats-pass'];
  }
  if (f['nats-token']) o.token = f['nats-token'];
  if (f['nats-creds'])
    o.authenticator = credsAuthenticator(new TextEncoder().encode(read(f['nats-creds'], 'NATS credentials file')));
  if (f['nats-nkey'])
    o.authenticator = nkeyAuthenticator(new TextEncoder().encode(read(f['nats-nkey'], 'nkey seed file').trim()));
  if (f['nats-tls-ca'] || f['nats-tls-cert']) {
    o.tls = {
      ...(f['nats-tls-ca'] ? { caFile: f['nats-tls-ca'] } : {}),
      ...(f['nats-tls-cert'] ? { certFile: f['nats-tls-cert'] } : {}),
      ...(f['nats-tls-key'] ? { keyFile: f['nats-tls-key'] } : {}),
    };
  }
  return o;
}
