import type { Step } from '@vigil/schema';
import { loadResponseKey } from '../response/order-check.js';
import { SensorResponder } from '../response/responder.js';
import type { SensorConfig } from '../sensor.js';
import type { SensorParts } from './parts.js';

/**
 * Listens for response orders once NATS is reached, when the sensor was given the control plane's
 * key (a key that cannot be read stops the start: an operator asked for response). The probes'
 * pids are the sensor's children, so its own pid covers them.
 */
export const responseStep = (cfg: SensorConfig, p: SensorParts): Step => ({
  name: 'response',
  start: async () => {
    if (!cfg.responseKeyFile) return;
    const responder = new SensorResponder({
      host: p.host,
      key: loadResponseKey(cfg.responseKeyFile),
      selfPid: process.pid,
      protectedPids: () => cfg.protectedPids ?? [],
      ktimeToWall: (ns) => BigInt(p.clock.toWall(Number(ns))),
      bornUnder: (pid, startTs) => p.cache.bornUnder(pid, startTs),
      counters: p.counters,
      log: p.log,
    });
    // The connection comes when NATS answers (export/connect.ts retries); a subscription outlives reconnects.
    const t = setInterval(() => {
      const nc = p.exporter?.nc();
      if (!nc) return;
      clearInterval(t);
      responder.subscribe(nc);
    }, 100);
    return () => {
      clearInterval(t);
      responder.stop();
    };
  },
});
