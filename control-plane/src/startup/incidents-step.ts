import type { Logger } from 'pino';
import type { AlertV1, Step } from '@vigil/schema';
import { StaticConfig } from '../config/source.js';
import { durationNs, IncidentManager } from '../incidents/manager.js';
import { IncidentStore } from '../incidents/store.js';
import { incidentRoutes } from '../api/incident-routes.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** How often incidents quiet for longer than the window are let go. */
const SWEEP_MS = 60_000;
/** How often taking open incidents back is tried again while storage does not answer. */
const RESTORE_RETRY_MS = 5_000;

/**
 * Incidents: every raised alert (suppressed ones never reach the sink) joins or opens one; each
 * version is stored and published. Open incidents are taken back from the table before ingest starts,
 * so that alerts after a restart keep joining them.
 */
export function incidentsStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'incidents',
    start: async () => {
      const config = cfg.config ?? new StaticConfig();
      const store = new IncidentStore(p.ch!.writer, p.ch!.reader, p.nc!.jetstream(), log);
      const manager = new IncidentManager({
        config,
        onChange: (inc) => store.save(inc),
        lookup: (id) => store.get(id),
      });
      const restore = async () => {
        const back = await store.restorable(
          BigInt(Date.now()) * 1_000_000n,
          durationNs(config.current().incidents.window),
        );
        manager.restore(back.incidents, back.alerts);
        if (back.incidents.length > 0)
          log.info({ 'incidents.restored': back.incidents.length }, 'open incidents taken back');
      };
      // The control plane starts without its storage (events wait in JetStream): open incidents are
      // then taken back once it answers; alerts before that open incidents of their own.
      let retry: NodeJS.Timeout | undefined;
      await restore().catch((err: Error) => {
        log.warn({ err }, 'open incidents not taken back yet (storage unreachable); retrying in the background');
        retry = setInterval(() => {
          restore().then(
            () => clearInterval(retry),
            () => undefined,
          );
        }, RESTORE_RETRY_MS);
      });
      const onAlert = (a: AlertV1) => {
        try {
          manager.add(a);
        } catch (err) {
          store.stats.lastError = (err as Error).message;
          log.error({ err, 'alert.id': a.id }, 'alert not placed in an incident');
        }
      };
      p.alerts!.live.on('alert', onAlert);
      p.incidents = manager;
      p.incidentStore = store;
      p.routes.push(incidentRoutes({ manager, store, ch: p.ch!.reader }));
      const t = setInterval(() => manager.sweep(), SWEEP_MS);
      return async () => {
        clearInterval(t);
        clearInterval(retry);
        p.alerts?.live.off('alert', onAlert);
        await store.stop();
      };
    },
  };
}
