import type { Logger } from 'pino';
import type { Step, VigilConfigV1 } from '@vigil/schema';
import { AlertSink } from '../alerts/sink.js';
import { Suppressor } from '../alerts/suppress.js';
import { type ConfigSource, StaticConfig } from '../config/source.js';
import { CustomDetections } from '../detect/custom/manager.js';
import type { DetectionEngine } from '../detect/engine.js';
import type { ExpectedGpuConfig } from '../detect/define.js';
import type { QueryLimits } from '../store/readonly-query.js';
import type { ControlPlaneConfig } from './config.js';
import { BUILTINS, type Parts } from './parts.js';

/**
 * vigil.yaml in the running control plane: its source followed for changes (a file is watched), and
 * the suppressions between the detection engine and the alert sink, with their own sink for the
 * alerts they hold back (stored in suppressed_alerts, never published).
 */
export function configStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'config-file',
    start: async () => {
      const config: ConfigSource = cfg.config ?? new StaticConfig();
      p.config = config;
      const unwatch = config.watch?.();
      const held = new AlertSink(p.ch!.writer, p.nc!.jetstream(), log, undefined, {
        table: 'suppressed_alerts',
        publish: false,
      });
      p.suppressor = new Suppressor(
        config,
        (a) => held.push(a),
        (a) => p.engine?.evidenceOf(a) ?? [],
        log,
      );
      return async () => {
        unwatch?.();
        p.suppressor?.stop();
        await held.stop();
      };
    },
  };
}

const NO_EXPECTED_GPU: ExpectedGpuConfig = { exe: [], cgroup: [] };

/** The GPU users expected: the flags', else the configuration's in force (read on each use, so reloads apply). */
export const expectedGpuOf = (cfg: ControlPlaneConfig, p: Parts): ExpectedGpuConfig =>
  cfg.expectedGpu ?? p.config?.current().gpu?.expected ?? NO_EXPECTED_GPU;

/**
 * Custom detections from the flags' folders, else the configuration's; those of the configuration are
 * loaded again when a reload changes them. Returns what stops it.
 */
export async function followDetectionDirs(
  cfg: ControlPlaneConfig,
  p: Parts,
  engine: DetectionEngine,
  log: Logger,
  queryLimits: QueryLimits,
): Promise<() => void> {
  const start = async (dirs: string[]) => {
    p.custom?.stop();
    p.custom = null;
    engine.setDetections(BUILTINS);
    if (dirs.length === 0) return;
    const custom = new CustomDetections(dirs, engine, BUILTINS, p.ch!.user, log, queryLimits);
    p.custom = custom;
    await custom.load();
    custom.watch();
  };
  await start(cfg.detections ?? p.config?.current().detections ?? []);
  if (cfg.detections || !p.config) return () => p.custom?.stop();
  const config = p.config;
  const onChange = (next: VigilConfigV1, previous: VigilConfigV1) => {
    if (next.detections.join('\0') === previous.detections.join('\0')) return;
    start(next.detections).catch((err: Error) => log.error({ err }, 'custom detections not reloaded'));
  };
  config.on('change', onChange);
  return () => {
    config.off('change', onChange);
    p.custom?.stop();
  };
}
