import { z } from 'zod/v4';
import { HostId, NsTimestamp } from './common.js';
import { ProcessV1 } from './process.v1.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

/** One of the processes an alert folded in, past the first (a storm of one command shape). */
export const AlertSampleV1 = z.object({
  pid: z.number().int().nonnegative(),
  startTs: NsTimestamp.nullable(),
  ts: NsTimestamp,
  /** The event that made this process's case. */
  event: z.string(),
});

export const GROUP_REASONS = ['command-shape', 'rate-cap'] as const;

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
  /**
   * Set on an alert that stands for many processes: past the first few processes of one command shape
   * (image, argument template, parent) on a host inside the window (`command-shape`), or past the
   * rule's rate cap on that host (`rate-cap`). `proc` is the first of them; `processes` counts them
   * all; `samples` are the first few after it.
   */
  grouped: z
    .object({
      by: z.enum(GROUP_REASONS),
      processes: z.number().int().positive(),
      samples: z.array(AlertSampleV1).max(5),
    })
    .optional(),
  /**
   * Set only on an alert a suppression of vigil.yaml held back (listed by `vigil alerts --suppressed`,
   * never raised): the suppression's place in the file's list, its rule and its reason.
   */
  suppressed: z.object({ index: z.number().int().nonnegative(), rule: z.string(), reason: z.string() }).optional(),
});
export type AlertV1 = z.infer<typeof AlertV1>;
export type AlertSampleV1 = z.infer<typeof AlertSampleV1>;

export const alertSubject = (host: string, severity: Severity): string => `vigil.alerts.${host}.${severity}`;
export const ALERTS_STREAM = 'VIGIL_ALERTS';
export const ALERTS_SUBJECTS = 'vigil.alerts.>';
