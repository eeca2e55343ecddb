/**
 * The probes' names, alone: the CLI's flags list them on every `vigil` call, and importing the
 * registry (its decoders, the sensor's whole package) for that costs a short command half its time.
 * registry.ts defines one probe per name (its `satisfies` clause checks both ways).
 */
export const PROBE_NAMES = ['exec', 'proc', 'connect', 'gpu', 'dns', 'tcp'] as const;
export type ProbeName = (typeof PROBE_NAMES)[number];
