import { fromPublic } from '@nats-io/nkeys';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import {
  DEFAULT_CREDENTIAL_DAYS,
  EnrollRequest,
  type EnrollResponse,
  EnrollTokenRequest,
  HostId,
  type HostRow,
  type HostsReport,
  type UnenrolledHostRow,
  MAX_ENROLL_BODY_BYTES,
  RENEW_MAX_SKEW_SECONDS,
  RenewRequest,
  renewProof,
} from '@vigil/schema';
import type { HeartbeatTracker } from '../ingest/heartbeats.js';
import { hostPermissions, type NatsAuthority } from './authority.js';
import { EnrollStore, type StoredHost } from './store.js';

export interface EnrollOptions {
  authority: NatsAuthority;
  /** Where the tokens and hosts are kept (the operator keys' folder). */
  stateDir: string;
  /** The NATS URLs an enrolled sensor is told to connect to. */
  natsUrls: string[];
  /** How the control plane reaches nats-server to push the account's revocations (URL, TLS). */
  push: Pick<ConnectionOptions, 'servers' | 'tls'>;
  credentialDays?: number;
}

/** Why an enrollment or renewal was refused: counted, and told to the host in words. */
type Reject =
  | 'malformed'
  | 'token unknown'
  | 'token expired'
  | 'token used up'
  | 'host taken'
  | 'bad signature'
  | 'stale'
  | 'not enrolled';

const issues = (e: { issues: { path: PropertyKey[]; message: string }[] }) =>
  e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

/**
 * Enrollment: a one-time token buys a host a NATS user JWT for the public key it sends, allowed its
 * own subjects only; the host renews it with a signature of that key; an operator lists and revokes
 * hosts. The enrollment and renewal routes take no API token (the enrollment token, or the key's
 * signature, is the credential), read small bodies only, and count every refusal.
 */
export class EnrollService {
  readonly store: EnrollStore;
  readonly rejects: Record<string, number> = {};
  private readonly credentialMs: number;

  constructor(
    private readonly o: EnrollOptions,
    private readonly heartbeats: () => HeartbeatTracker | null,
    private readonly silentAfterSeconds: number,
    private readonly log: Logger,
  ) {
    this.store = new EnrollStore(o.stateDir);
    this.credentialMs = (o.credentialDays ?? DEFAULT_CREDENTIAL_DAYS) * 24 * 3600 * 1000;
  }

  private refuse(reply: FastifyReply, code: number, reason: Reject, error: string, host?: string) {
    this.rejects[reason] = (this.rejects[reason] ?? 0) + 1;
    this.log.warn({ reason, host, ip: reply.request.ip }, 'enrollment refused');
    return reply.code(code).send({ error });
  }

  private async issue(host: string, publicKey: string): Promise<EnrollResponse> {
    const { jwt, expiresTs } = await this.o.authority.userJwt(
      `vigil-sensor-${host}`,
      publicKey,
      hostPermissions(host),
      new Date(Date.now() + this.credentialMs),
    );
    return { jwt, natsUrls: this.o.natsUrls, expiresTs };
  }

  async enroll(body: unknown, reply: FastifyReply) {
    const req = EnrollRequest.safeParse(body);
    if (!req.success) return this.refuse(reply, 400, 'malformed', `bad enrollment request: ${issues(req.error)}`);
    const { host, publicKey, token, version } = req.data;
    // Checked and recorded with no await between: two requests cannot both take one host id or one use.
    if (this.store.conflict(host, publicKey))
      return this.refuse(
        reply,
        409,
        'host taken',
        `host ${host} is enrolled with another key: revoke it first (vigil hosts revoke ${host})`,
        host,
      );
    const refusal = this.store.spendToken(token);
    if (refusal) return this.refuse(reply, 403, `token ${refusal}`, `enrollment token refused: ${refusal}`, host);
    const expiresTs = new Date(Date.now() + this.credentialMs).toISOString();
    this.store.issued(host, publicKey, version, expiresTs);
    this.log.info({ host, publicKey }, 'host enrolled');
    return this.issue(host, publicKey);
  }

  async renew(body: unknown, reply: FastifyReply) {
    const req = RenewRequest.safeParse(body);
    if (!req.success) return this.refuse(reply, 400, 'malformed', `bad renewal request: ${issues(req.error)}`);
    const { host, publicKey, ts, signature } = req.data;
    const h = this.store.host(host);
    if (h?.state !== 'active' || h.publicKey !== publicKey)
      return this.refuse(reply, 403, 'not enrolled', `host ${host} is not enrolled with this key`, host);
    if (Math.abs(Date.now() - ts) > RENEW_MAX_SKEW_SECONDS * 1000)
      return this.refuse(
        reply,
        403,
        'stale',
        `the renewal's time is more than ${RENEW_MAX_SKEW_SECONDS} s from the control plane's clock`,
        host,
      );
    let ok = false;
    try {
      ok = fromPublic(publicKey).verify(
        new TextEncoder().encode(renewProof(host, ts)),
        Buffer.from(signature, 'base64url'),
      );
    } catch {
      ok = false;
    }
    if (!ok) return this.refuse(reply, 403, 'bad signature', 'the renewal is not signed by the host key', host);
    const issued = await this.issue(host, publicKey);
    this.store.issued(host, publicKey, null, issued.expiresTs);
    return issued;
  }

  hostRows(): HostRow[] {
    const latest = this.heartbeats()?.latest;
    const now = Date.now();
    return this.store.hosts().map((h) => row(h, latest?.get(h.host), now, this.silentAfterSeconds));
  }

  report(): HostsReport {
    const enrolled = new Set(this.store.hosts().map((h) => h.host));
    return {
      hosts: this.hostRows(),
      rejects: this.rejects,
      notEnrolled: unenrolledRows(this.heartbeats(), this.silentAfterSeconds, enrolled),
    };
  }

  /** Revokes the host's key, then has nats-server apply it: the connection closes, reconnects are refused. */
  async revoke(host: string): Promise<StoredHost | null> {
    const h = this.store.revoke(host);
    if (!h) return null;
    await this.o.authority.pushAccount(this.o.push.servers, this.store.revocations(), this.o.push.tls);
    this.log.warn({ host, publicKey: h.publicKey }, 'host revoked');
    return h;
  }

  routes(app: FastifyInstance): void {
    const small = { bodyLimit: MAX_ENROLL_BODY_BYTES };
    app.post('/api/v1/enroll', small, (req, reply) => this.enroll(req.body, reply));
    app.post('/api/v1/hosts/renew', small, (req, reply) => this.renew(req.body, reply));
    app.post('/api/v1/hosts/tokens', (req, reply) => {
      const r = EnrollTokenRequest.safeParse(req.body ?? {});
      if (!r.success) return reply.code(400).send({ error: issues(r.error) });
      return this.store.createToken(r.data);
    });
    app.get('/api/v1/hosts', async (): Promise<HostsReport> => this.report());
    app.post<{ Params: { host: string } }>('/api/v1/hosts/:host/revoke', async (req, reply) => {
      const host = HostId.safeParse(req.params.host);
      if (!host.success) return reply.code(400).send({ error: `bad host id: ${issues(host.error)}` });
      const h = await this.revoke(host.data);
      if (!h) return reply.code(404).send({ error: `no enrolled host ${host.data}` });
      return this.hostRows().find((r) => r.host === host.data);
    });
  }
}

type Received = ReturnType<HeartbeatTracker['latest']['get']>;

/** What a host's latest heartbeat says: its version, when it was received, whether it is silent, its probes. */
function heard(hb: Received, now: number, silentAfterSeconds: number): Omit<UnenrolledHostRow, 'host'> {
  return {
    version: hb?.heartbeat.sensorVersion ?? null,
    lastHeartbeatTs: hb ? new Date(hb.receivedMs).toISOString() : null,
    silent: hb ? !hb.heartbeat.stopping && (now - hb.receivedMs) / 1000 > silentAfterSeconds : null,
    probes: Object.fromEntries((hb?.heartbeat.probes ?? []).map((p) => [p.name, p.state])),
  };
}

/** Every host heard from that is not in `enrolled`, by host id (a control plane without enrollment: all of them). */
export function unenrolledRows(
  heartbeats: HeartbeatTracker | null,
  silentAfterSeconds: number,
  enrolled: ReadonlySet<string> = new Set(),
): UnenrolledHostRow[] {
  const now = Date.now();
  return [...(heartbeats?.latest ?? new Map<string, NonNullable<Received>>())]
    .filter(([host]) => !enrolled.has(host))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, hb]) => ({ ...heard(hb, now, silentAfterSeconds), host }));
}

function row(h: StoredHost, hb: Received, now: number, silentAfterSeconds: number): HostRow {
  const seen = heard(hb, now, silentAfterSeconds);
  return {
    host: h.host,
    state: h.state,
    publicKey: h.publicKey,
    enrolledTs: h.enrolledTs,
    credentialExpiresTs: h.credentialExpiresTs,
    ...seen,
    // Before its first heartbeat, the version it enrolled with.
    version: seen.version ?? h.version,
  };
}
