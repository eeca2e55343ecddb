import { z } from 'zod/v4';
import { RECORD } from '../probes/records.js';

/** Building blocks shared by the probe record schemas. */
export const Ns = z.number().nonnegative();
export const U32 = z.number().int().nonnegative().max(0xffff_ffff);
export const U64 = z.number().int().nonnegative();
export const I64 = z.number().int();
export const Comm = z.string().max(64);

/** [0, ns]: printed from the prelude's BEGIN (probes/prelude.bt), i.e. once all the program's probes are attached. */
export const ReadyRecord = z.tuple([z.literal(RECORD.ready), Ns]);

/**
 * A test for a `[type, ns]` record without a parse (it runs on every record; a failed safeParse
 * builds an error).
 */
const isTimeRecord =
  (type: number) =>
  (data: unknown): boolean =>
    Array.isArray(data) && data.length === 2 && data[0] === type && typeof data[1] === 'number' && data[1] >= 0;

/** ReadyRecord's test without a parse. */
export const isReadyRecord = isTimeRecord(RECORD.ready);

/**
 * [99, ns]: printed by the prelude when a SIGINT or SIGTERM is sent to a bpftrace, so that bpftrace
 * 0.17 notices it (see probes/prelude.bt). It carries nothing for the sensor.
 */
export const WakeRecord = z.tuple([z.literal(RECORD.wake), Ns]);

/** WakeRecord's test without a parse. */
export const isWakeRecord = isTimeRecord(RECORD.wake);

/** What a decoder returns: zod's result shape, with the error not tied to the record's input type. */
export type DecodeResult<T> = { success: true; data: T } | { success: false; error: z.ZodError };

type TypedTuple = z.ZodTuple<[z.ZodLiteral<number>, ...z.ZodType[]], null>;

/**
 * A union of record tuples that picks the member by field 0 (the record type) instead of trying each
 * in turn: every failed member of a plain z.union builds an error, on every record.
 */
export function recordUnion<const T extends readonly [TypedTuple, TypedTuple, ...TypedTuple[]]>(...members: T) {
  const table = new Map<unknown, TypedTuple>(members.map((m) => [m.def.items[0].value, m]));
  const union = z.union(members as unknown as [TypedTuple, TypedTuple, ...TypedTuple[]]);
  return {
    members,
    safeParse(data: unknown): z.ZodSafeParseResult<z.infer<T[number]>> {
      const member = Array.isArray(data) ? table.get(data[0]) : undefined;
      return (member ?? union).safeParse(data) as z.ZodSafeParseResult<z.infer<T[number]>>;
    },
  };
}
