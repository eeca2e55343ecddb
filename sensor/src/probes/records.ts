/**
 * The record types: field 0 of every value record a probe prints, named once. The .bt files print
 * these numbers (bpftrace cannot import them); decode/fixtures.test.ts checks that each probe prints
 * exactly its own, and the prelude (probes/prelude.bt) the ready and wake records.
 */
export const RECORD = {
  /** [0, ns]: printed from BEGIN (probes/prelude.bt), once every probe is attached. */
  ready: 0,
  /** [99, ns]: printed when a SIGINT or SIGTERM is sent to a bpftrace (probes/prelude.bt). */
  wake: 99,
  exec: { arg: 1, caller: 2, error: 3, filename: 4, flush: 5 },
  proc: { flush: 12 },
  connect: { first: 20 },
  gpu: { first: 30 },
  dns: { query: 40, answer: 41, server: 42, skipped: 43 },
  tcp: { first: 50, refused: 51 },
} as const;

export type ProbeRecords = Omit<typeof RECORD, 'ready' | 'wake'>;

/** The record types probe `name` prints (besides the prelude's). */
export function recordTypes<N extends keyof ProbeRecords>(name: N): ProbeRecords[N][keyof ProbeRecords[N]][] {
  return Object.values(RECORD[name]) as ProbeRecords[N][keyof ProbeRecords[N]][];
}
