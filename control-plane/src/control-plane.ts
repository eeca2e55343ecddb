import { DEFAULT_SILENT_AFTER_SECONDS, runSteps, urlHost } from '@vigil/schema';
import { checkApiBinding } from './api/server.js';
import type { Ingestor } from './ingest/consumer.js';
import type { DetectionEngine } from './detect/engine.js';
import type { CustomDetections } from './detect/custom/manager.js';
import { USER_QUERY_LIMITS, type QueryLimits } from './store/readonly-query.js';
import { DEFAULT_STREAM_LIMITS } from './ingest/streams.js';
import type { ControlPlaneConfig } from './startup/config.js';
import { newParts } from './startup/parts.js';
import { storageStep } from './startup/storage-step.js';
import { natsStep } from './startup/nats-step.js';
import { retentionStep } from './startup/retention-step.js';
import { configStep } from './startup/config-step.js';
import { responseStep } from './startup/response-step.js';
import { outputsStep } from './startup/outputs-step.js';
import { incidentsStep } from './startup/incidents-step.js';
import { enrollStep } from './startup/enroll-step.js';
import { leaseStep } from './startup/lease-step.js';
import { replicasStep } from './startup/replicas-step.js';
import { apiStep, detectionsStep, heartbeatsStep, ingestStep } from './startup/pipeline-steps.js';

export type { ControlPlaneConfig } from './startup/config.js';
export { CONTROL_PLANE_VERSION } from './startup/reports.js';

export interface RunningControlPlane {
  apiUrl: string;
  ingestor: Ingestor;
  engine: DetectionEngine;
  custom: CustomDetections | null;
  stop: () => Promise<void>;
}

/**
 * Starts the control plane as a list of named steps (startup/): configuration check, storage, NATS
 * and its streams, heartbeats, detections, ingest, API. What started is stopped in reverse order, on
 * failure half-way as on `stop()`.
 */
export async function startControlPlane(cfg: ControlPlaneConfig): Promise<RunningControlPlane> {
  const log = cfg.log.child({ component: 'control-plane' });
  const p = newParts({
    maxAgeHours: cfg.streamMaxAgeHours ?? DEFAULT_STREAM_LIMITS.maxAgeHours,
    maxBytes: cfg.streamMaxBytes ?? DEFAULT_STREAM_LIMITS.maxBytes,
  });
  const o = {
    silentAfterSeconds: cfg.silentAfterSeconds ?? DEFAULT_SILENT_AFTER_SECONDS,
    queryLimits: { ...USER_QUERY_LIMITS, ...cfg.queryLimits } satisfies QueryLimits,
  };
  const stop = await runSteps(
    [
      // Refuse a bad configuration before touching storage or NATS.
      { name: 'config', start: async () => checkApiBinding(cfg.api.host, cfg.api.token) },
      storageStep(cfg, p, log),
      natsStep(cfg, p, log),
      leaseStep(cfg, p, log),
      configStep(cfg, p, log),
      retentionStep(p, log),
      heartbeatsStep(cfg, p, log),
      outputsStep(cfg, p, log),
      detectionsStep(cfg, p, log, o),
      incidentsStep(cfg, p, log),
      responseStep(cfg, p, log),
      cfg.replicas ? replicasStep(cfg, p, log) : ingestStep(cfg, p, log),
      enrollStep(cfg, p, log, o),
      apiStep(cfg, p, log, o),
    ],
    log,
    cfg.signal ? { signal: cfg.signal } : {},
  );
  const addr = p.api!.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.api.port;
  return {
    apiUrl: `${cfg.api.tls ? 'https' : 'http'}://${urlHost(cfg.api.host)}:${port}`,
    ingestor: p.ingestor!,
    engine: p.engine!,
    custom: p.custom,
    stop,
  };
}
