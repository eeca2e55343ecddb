import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';
import { ProcessV1 } from './process.v1.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

export const AlertV1 = z.object({
  /** Stable for one (rule, host, process) throttle window: a repeat updates the same alert. */
  id: z.string().min(1).max(128),
  v: z.literal(1),
  ruleId: z.string().min(1).max(200),
  title: z.string(),
  severity: Severity,
  /** MITRE ATT&CK technique ids, e.g. T1496. */
  mitre: z.array(z.string()),
  source: z.enum(['builtin', 'typescript', 'sigma', 'sql']),
  /** Rule author, kept for imported rules (Sigma: Detection Rule License attribution). */
  author: z.string().nullable(),
  ts: NsTimestamp,
  lastTs: NsTimestamp,
  host: HostId,
  proc: ProcessV1.nullable(),
  /** Ids of the events that made the case, oldest first (bounded). */
  evidence: z.array(z.string()),
  /** What happened, for a person. */
  reason: z.string(),
  /** How many times it fired in the throttle window. */
  count: z.number().int().positive(),
});
export type AlertV1 = z.infer<typeof AlertV1>;

export const alertSubject = (host: string, severity: Severity): string => `vigil.alerts.${host}.${severity}`;
export const ALERTS_STREAM = 'VIGIL_ALERTS';
export const ALERTS_SUBJECTS = 'vigil.alerts.>';
