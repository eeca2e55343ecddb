import type { Logger } from 'pino';
import type { Step } from '@vigil/schema';
import { StaticConfig } from '../config/source.js';
import { Outputs } from '../outputs/manager.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** The outputs of vigil.yaml (webhook, Slack, syslog, file), each reading its own durable consumer. */
export function outputsStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'outputs',
    start: async () => {
      const outputs = new Outputs(
        cfg.config ?? new StaticConfig(),
        p.nc!.jetstream(),
        log.child({ component: 'outputs' }),
      );
      p.outputs = outputs;
      await outputs.start();
      return () => outputs.stop();
    },
  };
}
