/** NATS subjects and stream names: the wire contract between sensors and the control plane. */
export const EVENTS_STREAM = 'VIGIL_EVENTS';
export const SENSOR_STREAM = 'VIGIL_SENSOR';
export const DEAD_LETTER_STREAM = 'VIGIL_DEAD_LETTER';
export const EVENTS_SUBJECTS = 'vigil.events.>';
export const SENSOR_SUBJECTS = 'vigil.sensor.>';
export const DEAD_LETTER_SUBJECTS = 'vigil.deadletter.>';

export const eventSubject = (host: string, kind: string): string => `vigil.events.${host}.${kind}`;
export const heartbeatSubject = (host: string): string => `vigil.sensor.${host}.heartbeat`;
export const deadLetterSubject = (reason: string): string => `vigil.deadletter.${reason}`;

/** The host token of an events subject, or null when the subject is not one. */
export function hostOfEventSubject(subject: string): string | null {
  const parts = subject.split('.');
  return parts.length === 4 && parts[0] === 'vigil' && parts[1] === 'events' ? (parts[2] ?? null) : null;
}
