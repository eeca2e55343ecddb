import { z } from 'zod';

/** Building blocks shared by the probe record schemas. */
export const Ns = z.number().nonnegative();
export const U32 = z.number().int().nonnegative().max(0xffff_ffff);
export const U64 = z.number().int().nonnegative();
export const I64 = z.number().int();
export const Comm = z.string().max(64);

/** [0, ns]: printed by every probe from BEGIN, i.e. once all its probes are attached. */
export const ReadyRecord = z.tuple([z.literal(0), Ns]);
