import { EventEmitter } from 'node:events';
import { type StatusReport, VigilConfigV1 } from '@vigil/schema';

/**
 * The configuration as the control plane's parts read it: `current()` is the version in force (the
 * file's last valid one, flags applied); 'change' is emitted with the new version after a reload
 * that validated. Parts that cache from it (outputs, response policies, suppressions) re-read on
 * 'change'; a reload that fails validation emits nothing and keeps the previous version.
 */
export interface ConfigSource {
  current(): VigilConfigV1;
  on(event: 'change', listener: (next: VigilConfigV1, previous: VigilConfigV1) => void): this;
  off(event: 'change', listener: (next: VigilConfigV1, previous: VigilConfigV1) => void): this;
  /** Where it comes from and how its reloads went (StatusReport.controlPlane.config); absent: nothing to tell. */
  status?(): ConfigStatus;
  /** Starts following its source for changes; returns what stops that. Absent: it never changes. */
  watch?(): () => void;
}

/** StatusReport.controlPlane.config. */
export type ConfigStatus = NonNullable<StatusReport['controlPlane']['config']>;

/** A configuration that never changes: no file, or tests. */
export class StaticConfig extends EventEmitter implements ConfigSource {
  private readonly value: VigilConfigV1;
  constructor(input: unknown = {}) {
    super();
    this.value = VigilConfigV1.parse(input);
  }
  current(): VigilConfigV1 {
    return this.value;
  }
}
