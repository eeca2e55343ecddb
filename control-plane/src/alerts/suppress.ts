import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import { CMDLINE_MATCH_CHARS, type AlertV1, type EventV1, type Suppression, type StatusReport } from '@vigil/schema';
import { globToRegExp } from '../detect/builtin/gpu.js';
import type { ConfigSource } from '../config/source.js';

/** A suppression that cannot be used on this host; `path` is where inside it (["user", 0]). */
export class SuppressionError extends Error {
  override name = 'SuppressionError';
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Why an alert was held back: the suppression's place in the list, its rule and reason. */
export type Verdict = NonNullable<AlertV1['suppressed']>;

/** What an alert is matched on beyond itself: the events it names as evidence, as far as they are still held. */
export type EvidenceLookup = (alert: AlertV1) => readonly EventV1[];

export interface CompiledSuppression {
  verdict: Verdict;
  /** Milliseconds since the epoch; past it the suppression no longer applies. */
  expiresMs: number | null;
  expires: string | null;
  matches: (alert: AlertV1, evidence: EvidenceLookup) => boolean;
}

/** User names of this host (/etc/passwd), for suppressions that name users rather than uids. */
export function systemUsers(file = '/etc/passwd'): Map<string, number> {
  const users = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return users;
  }
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid && /^\d+$/.test(uid)) users.set(name, Number(uid));
  }
  return users;
}

const anyGlob = (globs: string[]) => {
  const res = globs.map(globToRegExp);
  return (value: string | null | undefined) => value != null && res.some((re) => re.test(value));
};

/** The peers of the connections and DNS messages among an alert's evidence. */
function destinations(alert: AlertV1, evidence: EvidenceLookup): { addr: string; port: number }[] {
  const out: { addr: string; port: number }[] = [];
  for (const ev of evidence(alert)) {
    if (ev.kind === 'connect') out.push({ addr: ev.connect.daddr, port: ev.connect.dport });
    else if (ev.kind === 'conn' && ev.conn.event !== 'listen') out.push(ev.conn.remote);
    else if (ev.kind === 'dns' && ev.dns.server) out.push(ev.dns.server);
  }
  return out;
}

function addressMatcher(addrs: string[]): (addr: string) => boolean {
  const list = new BlockList();
  addrs.forEach((a, i) => {
    const [ip, bits, extra] = a.split('/');
    const family = isIP(ip ?? '');
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (
      family === 0 ||
      extra !== undefined ||
      !/^\d+$/.test(bits ?? '0') ||
      prefix > (family === 6 ? 128 : 32) ||
      prefix < 0
    )
      throw new SuppressionError(['destination', 'addr', i], `not an IP address or CIDR: ${JSON.stringify(a)}`);
    list.addSubnet(ip!, prefix, family === 6 ? 'ipv6' : 'ipv4');
  });
  return (addr) => {
    const family = isIP(addr);
    return family !== 0 && list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * Compiles each suppression once (globs, the command-line pattern, addresses, user names): matching
 * then runs on every alert. Throws SuppressionError for one this host cannot use.
 */
export function compileSuppressions(list: Suppression[], users = systemUsers()): CompiledSuppression[] {
  return list.map((s, index) => {
    try {
      return compileOne(s, index, users);
    } catch (err) {
      if (err instanceof SuppressionError) throw new SuppressionError([index, ...err.path], err.message);
      throw err;
    }
  });
}

function compileOne(s: Suppression, index: number, users: Map<string, number>): CompiledSuppression {
  const conditions: ((a: AlertV1, evidence: EvidenceLookup) => boolean)[] = [];
  const rule = anyGlob([s.rule]);
  conditions.push((a) => rule(a.ruleId));
  if (s.hosts) {
    const m = anyGlob(s.hosts);
    conditions.push((a) => m(a.host));
  }
  if (s.exe) {
    const m = anyGlob(s.exe);
    conditions.push((a) => m(a.proc?.exe));
  }
  if (s.hash) {
    const hashes = new Set(s.hash);
    conditions.push((a) => a.proc?.exeHash !== undefined && hashes.has(a.proc.exeHash));
  }
  if (s.job) {
    const m = anyGlob(s.job);
    conditions.push((a) => m(a.proc?.job));
  }
  if (s.cgroup) {
    const m = anyGlob(s.cgroup);
    conditions.push((a) => m(a.proc?.cgroup));
  }
  if (s.user) {
    const uids = new Set(
      s.user.map((u, i) => {
        if (typeof u === 'number') return u;
        const uid = users.get(u);
        if (uid === undefined) throw new SuppressionError(['user', i], `no user ${JSON.stringify(u)} on this host`);
        return uid;
      }),
    );
    conditions.push((a) => a.proc !== null && uids.has(a.proc.uid));
  }
  if (s.cmdline) {
    // The schema refused a pattern that does not compile; the text it runs on is bounded.
    const re = new RegExp(s.cmdline);
    conditions.push((a) => a.proc !== null && re.test(a.proc.argv.join(' ').slice(0, CMDLINE_MATCH_CHARS)));
  }
  if (s.destination) {
    const addr = s.destination.addr ? addressMatcher(s.destination.addr) : () => true;
    const ports = s.destination.port ? new Set(s.destination.port) : null;
    conditions.push((a, evidence) =>
      destinations(a, evidence).some((d) => addr(d.addr) && (ports === null || ports.has(d.port))),
    );
  }
  const expiresMs = s.expires !== undefined ? Date.parse(s.expires) : null;
  return {
    verdict: { index, rule: s.rule, reason: s.reason },
    expiresMs,
    expires: s.expires ?? null,
    matches: (a, evidence) => conditions.every((c) => c(a, evidence)),
  };
}

/** The first suppression in force that holds `alert` back, or null. */
export function suppressionFor(
  compiled: readonly CompiledSuppression[],
  alert: AlertV1,
  evidence: EvidenceLookup,
  nowMs: number,
): Verdict | null {
  for (const c of compiled) {
    if (c.expiresMs !== null && nowMs >= c.expiresMs) continue;
    if (c.matches(alert, evidence)) return c.verdict;
  }
  return null;
}

/** Alerts whose decision is remembered (an alert's later updates follow its first). */
const REMEMBERED = 50_000;

/**
 * Between the detection engine and the alert sink: an alert a suppression of the configuration in
 * force matches is handed to `hold` (stored apart, with its verdict) instead of being raised. A
 * repeat of an alert (same id, a higher count) gets the decision its first got, until the
 * configuration changes.
 */
export class Suppressor {
  private compiled: CompiledSuppression[];
  private readonly decided = new Map<string, Verdict | null>();
  total = 0;
  readonly byRule: Record<string, number> = {};

  constructor(
    private readonly config: ConfigSource,
    private readonly hold: (alert: AlertV1) => void,
    private readonly evidence: EvidenceLookup,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.compiled = compileSuppressions(config.current().suppressions);
    config.on('change', this.onChange);
  }

  private readonly onChange = (next: { suppressions: Suppression[] }) => {
    try {
      this.compiled = compileSuppressions(next.suppressions);
      this.decided.clear();
    } catch (err) {
      // The file's loader refused this already; a source that did not keeps the suppressions in force.
      this.log.error({ err }, 'suppressions not changed');
    }
  };

  /** True when `alert` was held back (handed to `hold`); false: raise it. */
  divert(alert: AlertV1): boolean {
    let verdict = this.decided.get(alert.id);
    const first = verdict === undefined;
    if (verdict === undefined) {
      verdict = suppressionFor(this.compiled, alert, this.evidence, this.now());
      if (this.decided.size >= REMEMBERED) this.decided.delete(this.decided.keys().next().value!);
      this.decided.set(alert.id, verdict);
    }
    if (!verdict) return false;
    // Alerts are counted, not their updates.
    if (first) {
      this.total++;
      this.byRule[alert.ruleId] = (this.byRule[alert.ruleId] ?? 0) + 1;
    }
    this.hold({ ...alert, suppressed: verdict });
    return true;
  }

  report(): NonNullable<StatusReport['controlPlane']['suppressed']> {
    const now = this.now();
    return {
      total: this.total,
      byRule: { ...this.byRule },
      expired: this.compiled
        .filter((c) => c.expiresMs !== null && now >= c.expiresMs)
        .map((c) => ({ ...c.verdict, expires: c.expires! })),
    };
  }

  stop(): void {
    this.config.off('change', this.onChange);
  }
}
