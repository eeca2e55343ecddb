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

/**
 * Where replies to a connection's requests arrive (nats.js `inboxPrefix`): one prefix per NATS user,
 * so a user's subscribe permission can name its own replies and nobody else's (a sensor allowed
 * `_INBOX.>` would read the control plane's pull deliveries: every host's events).
 */
export const sensorInboxPrefix = (host: string): string => `_INBOX_sensor.${host}`;
export const CONTROL_PLANE_INBOX_PREFIX = '_INBOX_control-plane';

/** Every subject one host's sensor publishes: its events and its heartbeats (a NATS user's allow-list). */
export const hostPublishSubjects = (host: string): string[] => [`vigil.events.${host}.>`, `vigil.sensor.${host}.>`];
