import { randomUUID } from 'node:crypto';
import {
  durationToMs,
  MAX_INCIDENT_ALERTS,
  MAX_INCIDENT_PROCESSES,
  SEVERITIES,
  type AlertV1,
  type IncidentStatus,
  type IncidentTransition,
  type IncidentNoteRequest,
  type IncidentV1,
  type ResponseRecordV1,
} from '@vigil/schema';
import type { ConfigSource } from '../config/source.js';
import { lineOf, type LineProcess, tiesOf, titleOf, treeOf, withinWindow } from './correlate.js';

export class IncidentNotFoundError extends Error {
  override name = 'IncidentNotFoundError';
}
export class IncidentTransitionError extends Error {
  override name = 'IncidentTransitionError';
}

export type IncidentAction = 'ack' | 'resolve' | 'reopen';

/** Which statuses each action leaves from, and where it goes. */
const TRANSITIONS: Record<IncidentAction, { from: IncidentStatus[]; to: IncidentStatus }> = {
  ack: { from: ['open'], to: 'acknowledged' },
  resolve: { from: ['open', 'acknowledged'], to: 'resolved' },
  reopen: { from: ['acknowledged', 'resolved'], to: 'open' },
};

/** Incidents taking alerts, at most; past it the least recently active is let go (counted). */
export const DEFAULT_MAX_TRACKED = 10_000;
/** Alert ids remembered for `incidentOfAlert`, at most. */
const MAX_ALERT_INDEX = 200_000;
/** Lines kept per incident to place its root as alerts join. */
const MAX_LINES = 64;
/** Pids an incident ties alerts by, at most (a host inventing processes cannot grow it without end). */
const MAX_TIES = 4096;

/** vigil.yaml's durations ("30m"), in nanoseconds. */
export const durationNs = (text: string): bigint => BigInt(durationToMs(text)) * 1_000_000n;

interface Tracked {
  inc: IncidentV1;
  ties: Set<number>;
  lines: LineProcess[][];
  /** Full alerts by id, for the title; refs only once reloaded. */
  stories: Map<string, Pick<AlertV1, 'ts' | 'title' | 'proc'>>;
}

export interface IncidentManagerOptions {
  config: ConfigSource;
  /** Called with every new version (store and publish). */
  onChange: (inc: IncidentV1) => void;
  /** An incident not taking alerts (resolved, let go, or from before a restart), for transitions. */
  lookup?: (id: string) => Promise<IncidentV1 | null>;
  maxTracked?: number;
  now?: () => bigint;
  newId?: () => string;
}

const rank = (s: IncidentV1['severity']): number => SEVERITIES.indexOf(s);
const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
const earlier = (a: string, b: string) => (BigInt(a) < BigInt(b) ? a : b);
const later = (a: string, b: string) => (BigInt(a) > BigInt(b) ? a : b);

/**
 * Groups the alerts of one host into incidents: one process tree (an alert's process or one of its
 * nearest ancestors already in an open incident) or one job, within the configured window. Each change
 * raises the incident's version and goes to `onChange`. Holds only incidents that take alerts.
 */
export class IncidentManager {
  private readonly tracked = new Map<string, Tracked>();
  private readonly alertIndex = new Map<string, string>();
  readonly stats = { opened: 0, updates: 0, letGo: 0, open: 0, acknowledged: 0 };

  constructor(private readonly o: IncidentManagerOptions) {}

  private get windowNs(): bigint {
    return durationNs(this.o.config.current().incidents.window);
  }

  /** Takes incidents back after a restart: open and acknowledged ones keep taking alerts. */
  restore(incidents: IncidentV1[], alerts: AlertV1[] = []): void {
    const byId = new Map(alerts.map((a) => [a.id, a]));
    for (const inc of incidents) {
      if (inc.status === 'resolved') continue;
      const t = this.track(inc);
      for (const ref of inc.alerts) {
        this.indexAlert(ref.id, inc.id);
        const a = byId.get(ref.id);
        if (a?.proc) this.addLine(t, a);
      }
      for (const p of inc.processes) t.ties.add(p.pid);
    }
    this.count();
  }

  /** An alert as it is raised (or raised again with a higher count). */
  add(alert: AlertV1): IncidentV1 {
    const known = this.alertIndex.get(alert.id);
    const t = (known && this.tracked.get(known)) || this.match(alert);
    if (!t) return this.open(alert);
    this.join(t, alert);
    return this.changed(t);
  }

  private match(alert: AlertV1): Tracked | null {
    const ties = alert.proc ? tiesOf(alert.proc) : [];
    const job = alert.proc?.job ?? null;
    const window = this.windowNs;
    let best: Tracked | null = null;
    for (const t of this.tracked.values()) {
      const inc = t.inc;
      if (inc.host !== alert.host || inc.status === 'resolved') continue;
      if (!withinWindow(inc, alert.ts, window)) continue;
      const tied =
        (job !== null && inc.job === job) ||
        ties.some((pid) => t.ties.has(pid)) ||
        // Alerts with no process (a sensor's health) join their host's incident of the same rule.
        (alert.proc === null && inc.rules.includes(alert.ruleId));
      if (tied && (!best || BigInt(inc.lastTs) > BigInt(best.inc.lastTs))) best = t;
    }
    return best;
  }

  private open(alert: AlertV1): IncidentV1 {
    const inc: IncidentV1 = {
      id: this.o.newId?.() ?? randomUUID(),
      v: 1,
      version: 0,
      host: alert.host,
      job: alert.proc?.job ?? null,
      title: '',
      severity: alert.severity,
      status: 'open',
      firstTs: alert.ts,
      lastTs: alert.lastTs,
      root: null,
      processes: [],
      alerts: [],
      alertCount: 0,
      rules: [],
      mitre: [],
      statusHistory: [],
      notes: [],
      responses: [],
    };
    const t = this.track(inc);
    this.stats.opened++;
    this.join(t, alert);
    return this.changed(t);
  }

  private track(inc: IncidentV1): Tracked {
    const t: Tracked = { inc, ties: new Set(), lines: [], stories: new Map() };
    this.tracked.set(inc.id, t);
    const max = this.o.maxTracked ?? DEFAULT_MAX_TRACKED;
    while (this.tracked.size > max) {
      // Map order is least recently changed first (changed() re-inserts).
      const oldest = this.tracked.keys().next().value!;
      this.tracked.delete(oldest);
      this.stats.letGo++;
    }
    return t;
  }

  private addLine(t: Tracked, alert: AlertV1): void {
    if (!alert.proc) return;
    if (t.ties.size < MAX_TIES) for (const pid of tiesOf(alert.proc)) t.ties.add(pid);
    if (t.lines.length < MAX_LINES) t.lines.push(lineOf(alert.proc));
  }

  private join(t: Tracked, alert: AlertV1): void {
    const inc = t.inc;
    const ref = {
      id: alert.id,
      ruleId: alert.ruleId,
      severity: alert.severity,
      ts: alert.ts,
      pid: alert.proc?.pid ?? null,
      title: alert.title,
    };
    const at = inc.alerts.findIndex((r) => r.id === alert.id);
    if (at >= 0) inc.alerts[at] = ref;
    else if (!this.alertIndex.has(alert.id) || this.alertIndex.get(alert.id) !== inc.id) {
      inc.alertCount++;
      if (inc.alerts.length < MAX_INCIDENT_ALERTS) inc.alerts.push(ref);
      this.addLine(t, alert);
    }
    this.indexAlert(alert.id, inc.id);
    if (t.stories.size < MAX_INCIDENT_ALERTS) t.stories.set(alert.id, alert);
    if (rank(alert.severity) > rank(inc.severity)) inc.severity = alert.severity;
    inc.firstTs = earlier(inc.firstTs, alert.ts);
    inc.lastTs = later(inc.lastTs, alert.lastTs);
    if (!inc.rules.includes(alert.ruleId)) inc.rules.push(alert.ruleId);
    for (const m of alert.mitre) if (!inc.mitre.includes(m)) inc.mitre.push(m);
    if (inc.job === null && alert.proc?.job) inc.job = alert.proc.job;
    if (t.lines.length > 0) {
      const { root, processes } = treeOf(t.lines);
      inc.root = root;
      inc.processes = processes.slice(0, MAX_INCIDENT_PROCESSES);
      for (const p of inc.processes) t.ties.add(p.pid);
    }
    const stories = t.stories.size > 0 ? [...t.stories.values()] : inc.alerts.map((r) => ({ ...r, proc: null }));
    inc.title = titleOf(stories);
  }

  private indexAlert(alertId: string, incidentId: string): void {
    this.alertIndex.delete(alertId);
    this.alertIndex.set(alertId, incidentId);
    if (this.alertIndex.size > MAX_ALERT_INDEX) this.alertIndex.delete(this.alertIndex.keys().next().value!);
  }

  private changed(t: Tracked): IncidentV1 {
    t.inc.version++;
    this.stats.updates++;
    // Most recently changed last: the first is let go first.
    this.tracked.delete(t.inc.id);
    if (t.inc.status !== 'resolved') this.tracked.set(t.inc.id, t);
    this.count();
    const copy = structuredClone(t.inc);
    this.o.onChange(copy);
    return copy;
  }

  private count(): void {
    let open = 0;
    let acknowledged = 0;
    for (const t of this.tracked.values()) {
      if (t.inc.status === 'open') open++;
      else if (t.inc.status === 'acknowledged') acknowledged++;
    }
    this.stats.open = open;
    this.stats.acknowledged = acknowledged;
  }

  private async find(id: string): Promise<Tracked> {
    const t = this.tracked.get(id);
    if (t) return t;
    const inc = await this.o.lookup?.(id);
    if (!inc) throw new IncidentNotFoundError(`no incident ${JSON.stringify(id)}`);
    return { inc, ties: new Set(inc.processes.map((p) => p.pid)), lines: [], stories: new Map() };
  }

  /** ack, resolve or reopen; an action its status does not allow is an IncidentTransitionError. */
  async transition(id: string, action: IncidentAction, req: IncidentTransition): Promise<IncidentV1> {
    const t = await this.find(id);
    const rule = TRANSITIONS[action];
    const from = t.inc.status;
    if (!rule.from.includes(from))
      throw new IncidentTransitionError(
        `incident ${id} is ${from}: ${action} applies to ${rule.from.join(' or ')} incidents only`,
      );
    t.inc.status = rule.to;
    t.inc.statusHistory.push({
      ts: (this.o.now ?? nowNs)().toString(),
      by: req.by,
      from,
      to: rule.to,
      ...(req.note ? { note: req.note } : {}),
    });
    if (req.note) t.inc.notes.push({ ts: (this.o.now ?? nowNs)().toString(), by: req.by, text: req.note });
    // A reopened incident takes alerts again; a resolved one never does (a new one opens).
    if (rule.to !== 'resolved' && !this.tracked.has(id)) this.tracked.set(id, t);
    return this.changed(t);
  }

  async note(id: string, req: IncidentNoteRequest): Promise<IncidentV1> {
    const t = await this.find(id);
    t.inc.notes.push({ ts: (this.o.now ?? nowNs)().toString(), by: req.by, text: req.text });
    return this.changed(t);
  }

  /** The incident an alert joined, while it is remembered. */
  incidentOfAlert(alertId: string): string | null {
    return this.alertIndex.get(alertId) ?? null;
  }

  /** A response order or its result: replaces the record of the same order, or appends it. */
  recordResponse(record: ResponseRecordV1): void {
    const id = record.order.incidentId ?? (record.order.alertId ? this.incidentOfAlert(record.order.alertId) : null);
    const t = id ? this.tracked.get(id) : undefined;
    if (t) {
      this.putResponse(t, record);
      return;
    }
    if (id)
      void this.find(id)
        .then((found) => this.putResponse(found, record))
        .catch(() => undefined);
  }

  private putResponse(t: Tracked, record: ResponseRecordV1): void {
    const at = t.inc.responses.findIndex((r) => r.order.id === record.order.id);
    if (at >= 0) t.inc.responses[at] = record;
    else t.inc.responses.push(record);
    this.changed(t);
  }

  /** Lets go of incidents quiet for longer than the window: no alert can join them any more. */
  sweep(now = (this.o.now ?? nowNs)()): void {
    const window = this.windowNs;
    for (const [id, t] of this.tracked)
      if (BigInt(t.inc.lastTs) + window < now) {
        this.tracked.delete(id);
        this.stats.letGo++;
      }
    this.count();
  }

  /** The tracked (taking alerts) version of an incident, if any. */
  current(id: string): IncidentV1 | null {
    const t = this.tracked.get(id);
    return t ? structuredClone(t.inc) : null;
  }

  get trackedCount(): number {
    return this.tracked.size;
  }
}
