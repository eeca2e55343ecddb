import { z } from 'zod/v4';
import { AlertV1, Severity } from './alert.v1.js';
import { NsTimestamp, Pid } from './common.js';
import { EventKind } from './event.v1.js';
import { Actor, ResponseRecordV1 } from './response.v1.js';
import { HostId } from './subjects.js';

/**
 * An incident: the alerts on one host that tell one story (same process tree or same job, close in
 * time), with its status, notes and the responses taken. Updated in place as alerts join; each change
 * raises `version` and is published again on vigil.incidents.<host>.
 */

export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export const IncidentStatus = z.enum(INCIDENT_STATUSES);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

export const IncidentStatusChangeV1 = z.object({
  ts: NsTimestamp,
  by: Actor,
  from: IncidentStatus,
  to: IncidentStatus,
  note: z.string().max(4000).optional(),
});
export type IncidentStatusChangeV1 = z.infer<typeof IncidentStatusChangeV1>;

export const IncidentNoteV1 = z.object({ ts: NsTimestamp, by: Actor, text: z.string().min(1).max(4000) });
export type IncidentNoteV1 = z.infer<typeof IncidentNoteV1>;

/** A process the incident involves: one an alert names, or the ancestor that ties them together. */
export const IncidentProcessV1 = z.object({
  pid: Pid,
  startTs: NsTimestamp.nullable(),
  exe: z.string(),
  comm: z.string(),
});
export type IncidentProcessV1 = z.infer<typeof IncidentProcessV1>;

/** An alert as the incident lists it (the whole alert is in the alerts table, by id). */
export const IncidentAlertRefV1 = z.object({
  id: z.string(),
  ruleId: z.string(),
  severity: Severity,
  ts: NsTimestamp,
  pid: Pid.nullable(),
  title: z.string(),
});
export type IncidentAlertRefV1 = z.infer<typeof IncidentAlertRefV1>;

export const MAX_INCIDENT_ALERTS = 500;
export const MAX_INCIDENT_PROCESSES = 200;

export const IncidentV1 = z.object({
  id: z.string().min(1).max(128),
  v: z.literal(1),
  /** Raised by one at each change: a joining alert, a status change, a note, a response. */
  version: z.number().int().positive(),
  host: HostId,
  /** The scheduler job its processes run in, null when none. */
  job: z.string().nullable(),
  /** The one-line story: its behaviours in time order (e.g. "python → bash → curl → xmrig-renamed → 127.0.0.1:443 stratum"). */
  title: z.string().max(1000),
  /** The highest of its alerts'. */
  severity: Severity,
  status: IncidentStatus,
  firstTs: NsTimestamp,
  lastTs: NsTimestamp,
  /** The top of the process tree its alerts share (the job's first process, or their nearest common ancestor). */
  root: IncidentProcessV1.nullable(),
  processes: z.array(IncidentProcessV1).max(MAX_INCIDENT_PROCESSES),
  alerts: z.array(IncidentAlertRefV1).max(MAX_INCIDENT_ALERTS),
  /** Alerts that joined, all of them (alerts lists the first MAX_INCIDENT_ALERTS). */
  alertCount: z.number().int().nonnegative(),
  rules: z.array(z.string()),
  mitre: z.array(z.string()),
  statusHistory: z.array(IncidentStatusChangeV1),
  notes: z.array(IncidentNoteV1),
  responses: z.array(ResponseRecordV1),
});
export type IncidentV1 = z.infer<typeof IncidentV1>;

export const incidentSubject = (host: string): string => `vigil.incidents.${host}`;
export const INCIDENTS_STREAM = 'VIGIL_INCIDENTS';
export const INCIDENTS_SUBJECTS = 'vigil.incidents.>';

/** One line of an incident's timeline: an event of one of its processes, or one of its alerts. */
export const TimelineEntryV1 = z.object({
  ts: NsTimestamp,
  /** An event's kind, or "alert", or "response". */
  kind: z.union([EventKind, z.enum(['alert', 'response'])]),
  pid: Pid.nullable(),
  /** What happened, for a person: "exec /tmp/.x/kworker -o 127.0.0.1:443", "connect 10.0.0.5:3333". */
  summary: z.string(),
  /** The event's id, or the alert's. */
  ref: z.string(),
  severity: Severity.optional(),
});
export type TimelineEntryV1 = z.infer<typeof TimelineEntryV1>;

/** One process of an incident's tree, with what an investigator asks of it. */
export const TreeNodeV1 = z.object({
  pid: Pid,
  ppid: Pid,
  startTs: NsTimestamp.nullable(),
  exe: z.string(),
  argv: z.array(z.string()),
  uid: z.number().int().nonnegative(),
  cwd: z.string().nullable(),
  /** fds 0-2 at exec, as text ("0:tcp 10.0.0.5:4444"), when the sensor read them. */
  stdio: z.array(z.string()),
  exeHash: z.string().nullable(),
  /** An alert names it, or it is on the path between the root and one that an alert names. */
  involved: z.boolean(),
  /** Ids of the alerts naming it. */
  alerts: z.array(z.string()),
});
export type TreeNodeV1 = z.infer<typeof TreeNodeV1>;

/** `GET /api/v1/incidents/:id`. */
export const IncidentDetail = z.object({
  incident: IncidentV1,
  alerts: z.array(AlertV1),
  timeline: z.array(TimelineEntryV1),
  timelineTruncated: z.boolean(),
  tree: z.array(TreeNodeV1),
  treeTruncated: z.boolean(),
});
export type IncidentDetail = z.infer<typeof IncidentDetail>;
