import type { Logger } from 'pino';
import type { Step, VigilConfigV1 } from '@vigil/schema';
import { applyRetention, retentionOf } from '../store/retention.js';
import type { Parts } from './parts.js';

/** How often a retention that could not be applied (storage down) is tried again. */
const RETRY_MS = 30_000;

/**
 * Applies vigil.yaml's `retention:` to the tables at start and after each reload that changes it; while
 * storage refuses, tries again every RETRY_MS. The window of claimed times the tables keep as claimed
 * (p.retention) follows once the table has it, so the ingest's count of retimed events agrees with it.
 */
export function retentionStep(p: Parts, log: Logger): Step {
  return {
    name: 'retention',
    start: async () => {
      let timer: NodeJS.Timeout | undefined;
      let wanted = p.config?.current().retention;
      const apply = async (): Promise<void> => {
        clearTimeout(timer);
        const r = retentionOf(wanted);
        try {
          await applyRetention(p.ch!.writer, r, log);
          p.retention = r;
          p.retentionError = null;
        } catch (err) {
          p.retentionError = (err as Error).message;
          log.warn({ err }, 'retention not applied; trying again');
          timer = setTimeout(() => void apply(), RETRY_MS);
          timer.unref();
        }
      };
      await apply();
      const onChange = (next: VigilConfigV1) => {
        if (JSON.stringify(next.retention) === JSON.stringify(wanted)) return;
        wanted = next.retention;
        void apply();
      };
      p.config?.on('change', onChange);
      return () => {
        clearTimeout(timer);
        p.config?.off('change', onChange);
      };
    },
  };
}
