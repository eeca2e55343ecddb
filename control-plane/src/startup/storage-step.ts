import type { Logger } from 'pino';
import type { Step } from '@vigil/schema';
import { backoffMs, OutageLog, pause } from '../store/outage.js';
import { createStorageClients, describeTarget } from '../store/client.js';
import { migrate } from '../store/migrations.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/**
 * Opens storage and applies the migrations. A local data directory that fails is a configuration
 * error: startup stops with it. A server that refuses may come back: startup goes on (events wait,
 * unacked, in JetStream) and the migrations are retried in the background with backoff.
 */
export function storageStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'storage',
    start: async (signal) => {
      const ch = createStorageClients(cfg.storage, log);
      p.ch = ch;
      const target = describeTarget(cfg.storage);
      const retrying = new AbortController();
      let retried: Promise<void> = Promise.resolve();
      try {
        const applied = await migrate(ch.writer, undefined, signal);
        log.info({ 'storage.target': target, 'storage.migrations': applied }, 'storage ready');
        p.storage.ready = true;
      } catch (err) {
        if (cfg.storage.kind === 'embedded' || signal.aborted) {
          await ch.close();
          throw err;
        }
        p.storage.error = (err as Error).message;
        const outage = new OutageLog(
          log,
          {
            down: 'storage unreachable; retrying in the background, events wait in JetStream',
            still: 'storage still unreachable',
            up: 'storage reachable again',
          },
          { 'storage.target': target },
        );
        outage.failed(err);
        retried = (async () => {
          while (await pause(backoffMs(outage.failures), retrying.signal)) {
            try {
              await migrate(ch.writer, undefined, retrying.signal);
              p.storage.ready = true;
              p.storage.error = null;
              outage.succeeded();
              return;
            } catch (e) {
              if (retrying.signal.aborted) return;
              p.storage.error = (e as Error).message;
              outage.failed(e);
            }
          }
        })();
      }
      return async () => {
        retrying.abort();
        await retried;
        await ch.close();
      };
    },
  };
}
