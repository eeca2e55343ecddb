import type { Logger } from 'pino';
import type { Step } from '@vigil/schema';
import { EnrollService } from '../enroll/service.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** Enrollment and host credentials, when the control plane holds the account signing key (cfg.enroll). */
export function enrollStep(cfg: ControlPlaneConfig, p: Parts, log: Logger, o: { silentAfterSeconds: number }): Step {
  return {
    name: 'enroll',
    start: async () => {
      if (!cfg.enroll) return;
      p.enroll = new EnrollService(
        cfg.enroll,
        () => p.heartbeats,
        o.silentAfterSeconds,
        log.child({ component: 'enroll' }),
      );
    },
  };
}
