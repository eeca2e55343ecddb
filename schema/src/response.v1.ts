import { z } from 'zod/v4';
import { NsTimestamp, Pid } from './common.js';
import { HostId } from './subjects.js';

/**
 * Response: an order from the control plane to one host's sensor to stop a process, and what the
 * sensor did with it. The sensor is the only party that acts; it re-checks every order against the
 * live process (start time, pid 1, kernel threads, itself and its children, NATS and the control plane)
 * and answers each, refused ones included. Every order and its result is kept (the audit).
 */

/** `kill`: the process (SIGKILL); `kill-tree`: it and every descendant, leaves first. */
export const RESPONSE_ACTIONS = ['kill', 'kill-tree'] as const;
export const ResponseAction = z.enum(RESPONSE_ACTIONS);
export type ResponseAction = z.infer<typeof ResponseAction>;

/** Who asked: `policy:<name>` for an automatic response, else the person the API client names. */
export const Actor = z.string().min(1).max(200);

export const ResponseOrderV1 = z.object({
  id: z.string().min(1).max(128),
  v: z.literal(1),
  host: HostId,
  action: ResponseAction,
  pid: Pid,
  /**
   * The target's start time as its events carry it (ProcessV1.startTs): the sensor refuses the order
   * when the live process with this pid started at another time (the pid was reused).
   */
  startTs: NsTimestamp,
  requestedBy: Actor,
  /** Why: the policy and alert, or the person's words. */
  reason: z.string().max(2000),
  incidentId: z.string().max(128).nullable(),
  alertId: z.string().max(128).nullable(),
  /** Records what it would do and does nothing. */
  dryRun: z.boolean(),
  issuedTs: NsTimestamp,
  /** The sensor refuses an order it receives after this (a late or replayed order). */
  expiresTs: NsTimestamp,
  /**
   * Ed25519 signature (base64) by the control plane's response key over `responseSigningBytes(order)`;
   * the sensor verifies it with the public key it was given.
   */
  signature: z.string().max(200),
});
export type ResponseOrderV1 = z.infer<typeof ResponseOrderV1>;

/** What the signature covers: the order without its signature, keys in a fixed order. */
export function responseSigningBytes(order: Omit<ResponseOrderV1, 'signature'> | ResponseOrderV1): Buffer {
  const { signature: _ignored, ...rest } = order as ResponseOrderV1;
  const keys = Object.keys(rest).sort();
  return Buffer.from(JSON.stringify(rest, keys));
}

/**
 * `killed`: signalled (pids lists them); `dry-run`: would have signalled pids; `refused`: a check
 * failed (reason says which); `failed`: a signal failed; `no-answer`: the control plane heard nothing
 * back in time (recorded by the control plane, never sent by a sensor).
 */
export const RESPONSE_OUTCOMES = ['killed', 'dry-run', 'refused', 'failed', 'no-answer'] as const;
export const ResponseOutcome = z.enum(RESPONSE_OUTCOMES);
export type ResponseOutcome = z.infer<typeof ResponseOutcome>;

export const ResponseResultV1 = z.object({
  orderId: z.string().min(1).max(128),
  v: z.literal(1),
  host: HostId,
  outcome: ResponseOutcome,
  reason: z.string().max(2000),
  /** The processes signalled (or, in a dry run, that would have been), target first. */
  pids: z.array(Pid).max(10_000),
  ts: NsTimestamp,
});
export type ResponseResultV1 = z.infer<typeof ResponseResultV1>;

/** One audited action: the order and, once known, its result. */
export const ResponseRecordV1 = z.object({
  order: ResponseOrderV1,
  result: ResponseResultV1.nullable(),
});
export type ResponseRecordV1 = z.infer<typeof ResponseRecordV1>;

/** Orders to one host's sensor: only the control plane may publish here; only that sensor subscribes. */
export const responseOrderSubject = (host: string): string => `vigil.control.${host}.response`;
/** A sensor's answers (inside its own `vigil.sensor.<host>.>` publish rights). */
export const responseResultSubject = (host: string): string => `vigil.sensor.${host}.response`;
