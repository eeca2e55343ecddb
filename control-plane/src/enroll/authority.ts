import { randomBytes } from 'node:crypto';
import { constants, openSync, readFileSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds, type Permissions } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type ConnectionOptions } from 'nats';
import {
  CONTROL_PLANE_INBOX_PREFIX,
  hostPublishSubjects,
  responseOrderSubject,
  sensorInboxPrefix,
} from '@vigil/schema';

export class NatsAuthorityError extends Error {
  override name = 'NatsAuthorityError';
}

/** The keys of the NATS operator `vigil up` runs, made once (seeds, mode 0600, in <dataDir>/secrets). */
export const AUTHORITY_KEYS_FILE = 'nats-operator.json';
export const VIGIL_ACCOUNT = 'VIGIL';
const SYSTEM_ACCOUNT = 'SYS';
/** An account's limits left open (a JWT without them allows no connection at all). */
const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const v2 = { algorithm: Algorithms.v2 };
const te = new TextEncoder();
const td = new TextDecoder();

/** What one host's sensor may do: publish its own subjects, receive its own replies and response orders. */
export function hostPermissions(host: string): Permissions {
  return {
    pub: { allow: hostPublishSubjects(host) },
    sub: { allow: [`${sensorInboxPrefix(host)}.>`, responseOrderSubject(host)] },
  };
}

interface Keys {
  operator: KeyPair;
  system: KeyPair;
  account: KeyPair;
  /** Signs the users of the VIGIL account; the account key itself signs nothing but is named in it. */
  signer: KeyPair;
}

function loadOrCreateKeys(file: string): Keys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new NatsAuthorityError(`cannot read the NATS operator keys ${file}`, { cause });
    const made = {
      operator: createOperator(),
      system: createAccount(),
      account: createAccount(),
      signer: createAccount(),
    };
    const seeds = Object.fromEntries(Object.entries(made).map(([k, kp]) => [k, td.decode(kp.getSeed())]));
    // O_EXCL: made once; a second writer fails instead of replacing keys a running server trusts.
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(seeds, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return made;
  }
  try {
    const seeds = JSON.parse(text) as Record<keyof Keys, string>;
    return {
      operator: fromSeed(te.encode(seeds.operator)),
      system: fromSeed(te.encode(seeds.system)),
      account: fromSeed(te.encode(seeds.account)),
      signer: fromSeed(te.encode(seeds.signer)),
    };
  } catch (cause) {
    throw new NatsAuthorityError(`the NATS operator keys ${file} are damaged`, { cause });
  }
}

export interface IssuedUser {
  jwt: string;
  expiresTs: string;
}

/**
 * The NATS operator, its system account and the VIGIL account (JetStream enabled) with a signing key:
 * what nats-server trusts in operator mode, and what signs each connection's user JWT. Revocations
 * live in the account JWT; pushing a new one to the server (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE`)
 * disconnects a revoked user at once and refuses it from then on.
 */
export class NatsAuthority {
  private readonly keys: Keys;

  constructor(readonly secretsDir: string) {
    this.keys = loadOrCreateKeys(join(secretsDir, AUTHORITY_KEYS_FILE));
  }

  get accountPublicKey(): string {
    return this.keys.account.getPublicKey();
  }

  operatorJwt(): Promise<string> {
    return encodeOperator('vigil', this.keys.operator, { system_account: this.keys.system.getPublicKey() }, v2);
  }

  /** The VIGIL account's JWT with these revocations (user public key -> unix seconds). */
  accountJwt(revocations: Record<string, number>): Promise<string> {
    return encodeAccount(
      VIGIL_ACCOUNT,
      this.keys.account,
      {
        signing_keys: [this.keys.signer.getPublicKey()],
        revocations,
        limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
      },
      { ...v2, signer: this.keys.operator },
    );
  }

  systemAccountJwt(): Promise<string> {
    return encodeAccount(
      SYSTEM_ACCOUNT,
      this.keys.system,
      { limits: UNLIMITED },
      { ...v2, signer: this.keys.operator },
    );
  }

  /** A user JWT of the VIGIL account for `publicKey`; no permissions given means every right. */
  async userJwt(
    name: string,
    publicKey: string,
    permissions: Permissions | null,
    expiresAt: Date | null,
  ): Promise<IssuedUser> {
    const exp = expiresAt ? Math.floor(expiresAt.getTime() / 1000) : undefined;
    const jwt = await encodeUser(
      name,
      publicKey,
      this.keys.signer,
      { issuer_account: this.accountPublicKey, ...(permissions ?? {}) },
      { ...v2, ...(exp ? { exp } : {}) },
    );
    return { jwt, expiresTs: expiresAt ? expiresAt.toISOString() : '' };
  }

  /** A fresh user (key made here, kept in memory or in the .creds text given out) with its JWT. */
  async localUserCreds(
    name: string,
    permissions: Permissions | null,
    inboxPrefix: string,
  ): Promise<{ creds: string; options: ConnectionOptions }> {
    const user = createUser();
    const { jwt } = await this.userJwt(name, user.getPublicKey(), permissions, null);
    const creds = td.decode(fmtCreds(jwt, user));
    return { creds, options: { authenticator: credsAuthenticator(te.encode(creds)), inboxPrefix } };
  }

  controlPlaneCreds(): Promise<{ creds: string; options: ConnectionOptions }> {
    return this.localUserCreds('vigil-control-plane', null, CONTROL_PLANE_INBOX_PREFIX);
  }

  /** nats-server's operator-mode configuration: the trusted operator and a resolver that takes pushed updates. */
  async serverConfig(
    resolverDir: string,
    revocations: Record<string, number>,
  ): Promise<{ config: string; operatorJwt: string }> {
    const operatorJwt = await this.operatorJwt();
    const preload = {
      [this.keys.system.getPublicKey()]: await this.systemAccountJwt(),
      [this.accountPublicKey]: await this.accountJwt(revocations),
    };
    const config = `# Written by \`vigil up\` (at each start) or \`vigil nats-config\` from the NATS operator keys; root only.
operator: ${JSON.stringify(operatorJwt)}
system_account: ${JSON.stringify(this.keys.system.getPublicKey())}
resolver: { type: full, dir: ${JSON.stringify(resolverDir)}, allow_delete: false, interval: "2m", timeout: "5s" }
resolver_preload: {
${Object.entries(preload)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
}
`;
    return { config, operatorJwt };
  }

  /** Sends the account JWT with these revocations to nats-server, which applies it at once. */
  async pushAccount(
    servers: ConnectionOptions['servers'],
    revocations: Record<string, number>,
    tls?: ConnectionOptions['tls'],
  ): Promise<void> {
    const user = createUser();
    const jwt = await encodeUser(
      'vigil-account-push',
      user,
      this.keys.system,
      {},
      { ...v2, exp: Math.floor(Date.now() / 1000) + 300 },
    );
    const nc = await connect({
      servers,
      authenticator: credsAuthenticator(fmtCreds(jwt, user)),
      inboxPrefix: `_INBOX_push.${randomBytes(6).toString('hex')}`,
      maxReconnectAttempts: 0,
      ...(tls ? { tls } : {}),
    });
    try {
      const msg = await nc.request(
        `$SYS.REQ.ACCOUNT.${this.accountPublicKey}.CLAIMS.UPDATE`,
        te.encode(await this.accountJwt(revocations)),
        { timeout: 5000 },
      );
      const reply = JSON.parse(td.decode(msg.data)) as { error?: { description?: string }; data?: { code?: number } };
      if (reply.error)
        throw new NatsAuthorityError(`nats-server refused the account update: ${reply.error.description}`);
    } finally {
      await nc.close();
    }
  }
}
