import type { Logger } from 'pino';
import type { HostsReport, Step } from '@vigil/schema';
import { EnrollService, unenrolledRows } from '../enroll/service.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/**
 * Enrollment and host credentials, when the control plane holds the account signing key (cfg.enroll);
 * without it, the hosts list alone (every host from its heartbeats).
 */
export function enrollStep(cfg: ControlPlaneConfig, p: Parts, log: Logger, o: { silentAfterSeconds: number }): Step {
  return {
    name: 'enroll',
    start: async () => {
      if (!cfg.enroll) {
        // No enrollment here (static NATS users): `vigil hosts` still lists the hosts heard from.
        p.routes.push((app) =>
          app.get(
            '/api/v1/hosts',
            async (): Promise<HostsReport> => ({
              hosts: [],
              rejects: {},
              notEnrolled: unenrolledRows(p.heartbeats, o.silentAfterSeconds),
            }),
          ),
        );
        return;
      }
      p.enroll = new EnrollService(
        cfg.enroll,
        () => p.heartbeats,
        o.silentAfterSeconds,
        log.child({ component: 'enroll' }),
      );
    },
  };
}
