import { AlertV1, IncidentV1, SEVERITIES, type OutputConfig, type Severity } from '@vigil/schema';
import { matchesAny } from '../detect/builtin/gpu.js';

/** What one output sends: an alert (each new or updated alert) or an incident (each new version). */
export type OutputMessage =
  | { kind: 'alert'; data: AlertV1; deliveryId: string }
  | { kind: 'incident'; data: IncidentV1; deliveryId: string };

/** One output type: sends a message, throwing when the receiver did not take it. */
export interface Sender {
  send(m: OutputMessage): Promise<void>;
  close(): Promise<void>;
}

/** A message on the stream that is not what the control plane publishes there. */
export class MalformedOutputMessage extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MalformedOutputMessage';
  }
}

/**
 * Reads a message of the alerts or incidents stream. Its delivery id is stable per content (an
 * alert's id and count, an incident's id and version), so a receiver dedupes on it whichever control
 * plane or redelivery sent it.
 */
export function readMessage(kind: OutputConfig['send'], data: Uint8Array): OutputMessage {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new MalformedOutputMessage('not JSON', { cause: err });
  }
  if (kind === 'alerts') {
    const r = AlertV1.safeParse(json);
    if (!r.success) throw new MalformedOutputMessage(`not an alert: ${r.error.message}`, { cause: r.error });
    return { kind: 'alert', data: r.data, deliveryId: `alert-${r.data.id}-${r.data.count}` };
  }
  const r = IncidentV1.safeParse(json);
  if (!r.success) throw new MalformedOutputMessage(`not an incident: ${r.error.message}`, { cause: r.error });
  return { kind: 'incident', data: r.data, deliveryId: `incident-${r.data.id}-v${r.data.version}` };
}

const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/** Whether the output takes it: at least its minSeverity, and (when it lists rules) one of its rules. */
export function selected(cfg: Pick<OutputConfig, 'minSeverity' | 'rules'>, m: OutputMessage): boolean {
  if (rank(m.data.severity) < rank(cfg.minSeverity)) return false;
  if (!cfg.rules) return true;
  const rules = m.kind === 'alert' ? [m.data.ruleId] : m.data.rules;
  return rules.some((r) => matchesAny(cfg.rules!, r));
}

/** The one-line story of a message, for people: the incident's title, or the alert's title and reason. */
export const storyOf = (m: OutputMessage): string =>
  m.kind === 'incident' ? m.data.title : `${m.data.title}: ${m.data.reason}`;

export const rulesOf = (m: OutputMessage): string[] => (m.kind === 'alert' ? [m.data.ruleId] : m.data.rules);

/** The job the message's processes run in, when it has one. */
export const jobOf = (m: OutputMessage): string | null =>
  m.kind === 'incident' ? m.data.job : (m.data.proc?.job ?? null);
