import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v4';
import { type EnrollToken, type EnrollTokenRequest, HOST_STATES, HostId } from '@vigil/schema';

export class EnrollStoreError extends Error {
  override name = 'EnrollStoreError';
}

/**
 * Enrollment tokens (their hashes) and enrolled hosts, in one JSON file beside the NATS operator keys.
 * A file, not ClickHouse: `vigil up` reads the revocations before nats-server starts, which is before
 * storage is open, and a few hundred hosts fit in a few kilobytes.
 */
export const ENROLL_STATE_FILE = 'enroll.json';

const StoredToken = z.object({
  id: z.string(),
  sha256: z.string(),
  expiresTs: z.string(),
  usesLeft: z.number().int().nonnegative(),
});
const StoredHost = z.object({
  host: HostId,
  state: z.enum(HOST_STATES),
  publicKey: z.string(),
  enrolledTs: z.string(),
  credentialExpiresTs: z.string().nullable(),
  version: z.string().nullable(),
  /** Unix seconds: a user JWT of this key issued at or before it is refused (NATS revocations). */
  revokedAt: z.number().int().nullable(),
});
export type StoredHost = z.infer<typeof StoredHost>;
const State = z.object({ tokens: z.array(StoredToken), hosts: z.array(StoredHost) });
type State = z.infer<typeof State>;

/** Why a token was refused, as the enrolling host is told. */
export type TokenRefusal = 'unknown' | 'expired' | 'used up';

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Every change is written whole (temporary file, fsync, rename; mode 0600) before it is acted on, so
 * a crash leaves the old state or the new one, never half of each. Reads and writes are synchronous:
 * two enrollments in flight cannot both spend a token's last use.
 */
export class EnrollStore {
  private readonly file: string;
  private state: State;

  constructor(
    dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = join(dir, ENROLL_STATE_FILE);
    this.state = EnrollStore.read(this.file);
  }

  static read(file: string): State {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { tokens: [], hosts: [] };
      throw new EnrollStoreError(`cannot read ${file}`, { cause });
    }
    try {
      return State.parse(JSON.parse(text));
    } catch (cause) {
      throw new EnrollStoreError(`${file} is damaged`, { cause });
    }
  }

  /** The revocations the VIGIL account's JWT carries (public key -> unix seconds). */
  static revocationsIn(dir: string): Record<string, number> {
    return revocationsOf(EnrollStore.read(join(dir, ENROLL_STATE_FILE)).hosts);
  }

  private save(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.state, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  createToken(req: EnrollTokenRequest): EnrollToken {
    const now = this.now();
    const token = randomBytes(32).toString('base64url');
    const id = randomBytes(6).toString('hex');
    const expiresTs = new Date(now.getTime() + req.expiresSeconds * 1000).toISOString();
    // Spent and expired tokens go when a new one is made: the file stays small.
    this.state.tokens = this.state.tokens.filter((t) => t.usesLeft > 0 && Date.parse(t.expiresTs) > now.getTime());
    this.state.tokens.push({ id, sha256: sha256(token).toString('hex'), expiresTs, usesLeft: req.uses });
    this.save();
    return { token, id, expiresTs, uses: req.uses };
  }

  /** Spends one use of `token`, or says why it cannot. Every stored hash is compared, in constant time each. */
  spendToken(token: string): TokenRefusal | null {
    const given = sha256(token);
    let found: z.infer<typeof StoredToken> | undefined;
    for (const t of this.state.tokens) if (timingSafeEqual(Buffer.from(t.sha256, 'hex'), given)) found = t;
    if (!found) return 'unknown';
    if (Date.parse(found.expiresTs) <= this.now().getTime()) return 'expired';
    if (found.usesLeft < 1) return 'used up';
    found.usesLeft -= 1;
    this.save();
    return null;
  }

  /** One row per host id: its active entry, else its latest revoked one. */
  hosts(): StoredHost[] {
    const ids = [...new Set(this.state.hosts.map((h) => h.host))];
    return ids.map((id) => ({ ...this.host(id)! }));
  }

  host(host: string): StoredHost | undefined {
    const all = this.state.hosts.filter((h) => h.host === host);
    return all.find((h) => h.state === 'active') ?? all.at(-1);
  }

  /** Whether `host` may take `publicKey`: new, the same key again, or its old key revoked. */
  conflict(host: string, publicKey: string): boolean {
    const h = this.host(host);
    return h !== undefined && h.state === 'active' && h.publicKey !== publicKey;
  }

  /** Records a credential issued to `host`: the same active key renewed, or a new entry (revoked ones stay, for the revocations). */
  issued(host: string, publicKey: string, version: string | null, credentialExpiresTs: string): void {
    const h = this.host(host);
    if (h && h.state === 'active' && h.publicKey === publicKey) {
      h.credentialExpiresTs = credentialExpiresTs;
      if (version !== null) h.version = version;
    } else {
      this.state.hosts.push({
        host,
        state: 'active',
        publicKey,
        enrolledTs: this.now().toISOString(),
        credentialExpiresTs,
        version,
        revokedAt: null,
      });
    }
    this.save();
  }

  /** Marks `host` revoked; its key joins the revocations. Null when no active host has that id. */
  revoke(host: string): StoredHost | null {
    const h = this.state.hosts.find((x) => x.host === host && x.state === 'active');
    if (!h) return null;
    h.state = 'revoked';
    h.revokedAt = Math.floor(this.now().getTime() / 1000);
    this.save();
    return { ...h };
  }

  revocations(): Record<string, number> {
    return revocationsOf(this.state.hosts);
  }
}

function revocationsOf(hosts: StoredHost[]): Record<string, number> {
  return Object.fromEntries(hosts.filter((h) => h.revokedAt !== null).map((h) => [h.publicKey, h.revokedAt!]));
}
