import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LocalSecretsError, secureDir, writeAtomic } from './local-secrets.js';
import { SECRETS_DIR } from './local-nats-auth.js';

/** The control plane's response signing key (private, root only) and the public half the sensor checks with. */
export const RESPONSE_PRIVATE_KEY_FILE = 'response-ed25519.key';
export const RESPONSE_PUBLIC_KEY_FILE = 'response-ed25519.pub';

export interface ResponseKeys {
  privateKey: KeyObject;
  publicKeyFile: string;
}

/**
 * The Ed25519 key pair response orders are signed with, kept in `<dataDir>/secrets/` (0700, the key
 * 0600), created at the first start. Whoever holds the private key can order a kill on every host
 * whose sensor trusts the public one: it never leaves this folder. A key that does not parse is an
 * error, not replaced: the sensors of other hosts may trust it.
 */
export function loadOrCreateResponseKeys(dataDir: string, log: Logger): ResponseKeys {
  const dir = join(dataDir, SECRETS_DIR);
  secureDir(dir, null);
  const keyFile = join(dir, RESPONSE_PRIVATE_KEY_FILE);
  const publicKeyFile = join(dir, RESPONSE_PUBLIC_KEY_FILE);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(keyFile));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new LocalSecretsError(`cannot read the response key ${keyFile}: ${(err as Error).message}`, { cause: err });
    privateKey = generateKeyPairSync('ed25519').privateKey;
    writeAtomic(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600, null);
    log.info({ 'secret.path': keyFile }, 'response signing key created');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new LocalSecretsError(`the response key ${keyFile} is ${privateKey.asymmetricKeyType}, not ed25519`);
  // Written at each start from the private key: the pair always matches. Root only like the rest of
  // the folder (the sensor runs as root); it is no secret, and may be copied to other hosts' sensors.
  writeAtomic(
    publicKeyFile,
    createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    0o600,
    null,
  );
  return { privateKey, publicKeyFile };
}

/** A signing key an operator keeps elsewhere (`vigil control-plane --response-key`): Ed25519, PEM. */
export function loadResponseSigningKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (err) {
    throw new LocalSecretsError(`cannot read the response key ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new LocalSecretsError(`the response key ${path} is ${key.asymmetricKeyType}, not ed25519`);
  return key;
}
