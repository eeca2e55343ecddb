import { z } from 'zod/v4';

/** Nanoseconds since the Unix epoch, as a decimal string: it does not fit a JSON number exactly. */
export const NsTimestamp = z.string().regex(/^\d{1,20}$/, 'nanoseconds since epoch, decimal digits');
export type NsTimestamp = z.infer<typeof NsTimestamp>;

// The host id rule lives with the subjects it is a token of.
export { HostId, hostIdFrom } from './subjects.js';

/**
 * Deepest nesting of arrays and objects the control plane parses from NATS: an event's JSON nests about
 * six deep. Bounded before parsing, since what walks a parsed value recursively (JSON.stringify among
 * others) overflows the stack on one nested some 100,000 deep, a message of a few hundred KB.
 */
export const MAX_JSON_DEPTH = 64;

/** Wall-clock now, as an NsTimestamp. */
export const nowNs = (): string => (BigInt(Date.now()) * 1_000_000n).toString();

export const Pid = z.number().int().nonnegative().max(4_194_304);
export const Id32 = z.number().int().nonnegative().max(0xffff_ffff);
