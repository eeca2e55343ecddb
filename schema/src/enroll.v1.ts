import { z } from 'zod/v4';
import { HostId } from './subjects.js';

/**
 * Enrollment: a host's sensor trades a one-time token for its own NATS credential. The host makes its
 * key pair (an NATS user nkey) and sends only the public key; the control plane, which holds the
 * account signing key, answers with a user JWT allowed to publish only the host's own subjects and to
 * subscribe only to its own control subject and reply inbox.
 */

/** `POST /api/v1/hosts/tokens` (`vigil hosts token create`). */
export const EnrollTokenRequest = z
  .object({
    /** Seconds the token stays valid. */
    expiresSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .default(3600),
    /** Enrollments it allows. */
    uses: z.number().int().min(1).max(100_000).default(1),
  })
  .strict();
export type EnrollTokenRequest = z.infer<typeof EnrollTokenRequest>;

export const EnrollToken = z.object({
  /** Shown once; the control plane keeps only its hash. */
  token: z.string(),
  id: z.string(),
  expiresTs: z.string(),
  uses: z.number(),
});
export type EnrollToken = z.infer<typeof EnrollToken>;

/** `POST /api/v1/enroll` (the token is the only credential; no API token). */
export const EnrollRequest = z
  .object({
    token: z.string().min(16).max(200),
    host: HostId,
    /** The host's NATS user public nkey ("U…", 56 characters). */
    publicKey: z.string().regex(/^U[A-Z2-7]{55}$/),
    /** The sensor's version (`vigil version`). */
    version: z.string().max(100),
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z.object({
  /** The user JWT (with the nkey seed the host keeps, it makes a NATS .creds file). */
  jwt: z.string(),
  /** NATS URLs the sensor connects to. */
  natsUrls: z.array(z.string()),
  expiresTs: z.string(),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** `POST /api/v1/hosts/renew`: a sensor renews its credential before expiry (authenticated by a signature of its nkey). */
export const RenewRequest = z
  .object({
    host: HostId,
    publicKey: z.string().regex(/^U[A-Z2-7]{55}$/),
    /** A nonce-free proof: the host id and the current time in ms, signed by the nkey (base64url). */
    ts: z.number().int(),
    signature: z.string().max(200),
  })
  .strict();
export type RenewRequest = z.infer<typeof RenewRequest>;

export const HOST_STATES = ['active', 'revoked'] as const;

/** `GET /api/v1/hosts` (`vigil hosts`). */
export const HostRow = z.object({
  host: HostId,
  state: z.enum(HOST_STATES),
  publicKey: z.string(),
  enrolledTs: z.string(),
  credentialExpiresTs: z.string().nullable(),
  version: z.string().nullable(),
  /** From its heartbeats; null when none arrived yet. */
  lastHeartbeatTs: z.string().nullable(),
  silent: z.boolean().nullable(),
  probes: z.record(z.string(), z.string()),
});
export type HostRow = z.infer<typeof HostRow>;

/** Environment variables the sensor reads to enroll at its first start (what `vigil deploy` writes to /etc/vigil/sensor.env). */
export const ENROLL_URL_ENV = 'VIGIL_ENROLL_URL';
export const ENROLL_TOKEN_ENV = 'VIGIL_ENROLL_TOKEN';
/** Where an enrolled sensor keeps its credential (root only). */
export const DEFAULT_CREDS_DIR = '/etc/vigil';
export const SENSOR_CREDS_FILE = 'sensor.creds';

/** A host credential's life when the control plane is not told otherwise; the sensor renews it in its last third. */
export const DEFAULT_CREDENTIAL_DAYS = 30;
/** The largest enrollment or renewal request the API reads. */
export const MAX_ENROLL_BODY_BYTES = 4096;
/** How far a renewal's time may be from the control plane's clock. */
export const RENEW_MAX_SKEW_SECONDS = 300;
/** What a RenewRequest's signature signs: the host id and the time, so a captured one expires. */
export const renewProof = (host: string, ts: number): string => `vigil-renew\n${host}\n${ts}`;

/**
 * A host heard from whose NATS credential no enrollment issued (`vigil up`'s own sensor, a static NATS
 * user): what its latest heartbeat says.
 */
export const UnenrolledHostRow = HostRow.pick({
  host: true,
  version: true,
  lastHeartbeatTs: true,
  silent: true,
  probes: true,
});
export type UnenrolledHostRow = z.infer<typeof UnenrolledHostRow>;

/** `POST /api/v1/hosts/<host>/revoke` answers the host's row. `GET /api/v1/hosts`: */
export const HostsReport = z.object({
  hosts: z.array(HostRow),
  /** Hosts heard from that never enrolled; absent from control planes that predate it. */
  notEnrolled: z.array(UnenrolledHostRow).optional(),
  /** Enrollment and renewal requests refused, by reason. */
  rejects: z.record(z.string(), z.number()),
});
export type HostsReport = z.infer<typeof HostsReport>;
