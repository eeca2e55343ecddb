import type { DetectionsReport, StatusReport } from '@vigil/schema';
import { describeTarget } from '../store/client.js';
import { sharesThisProcess } from '../api/shared-process.js';
import type { ControlPlaneConfig } from './config.js';
import { HEARTBEAT_DETECTIONS, type Parts } from './parts.js';

export const CONTROL_PLANE_VERSION = '0.1.0';

/** `vigil status`: this control plane's parts as they are now, and each sensor by its last heartbeat. */
export function statusReport(cfg: ControlPlaneConfig, p: Parts, silentAfterSeconds: number): StatusReport {
  const nowMs = Date.now();
  const { ingestor, heartbeats, nc, alerts, engine, followers } = p;
  return {
    controlPlane: {
      version: CONTROL_PLANE_VERSION,
      storage: describeTarget(cfg.storage),
      storageHealthy: p.storage.ready && (ingestor?.stats.storageHealthy ?? false),
      lastInsertError: p.storage.error ?? ingestor?.stats.lastInsertError ?? null,
      nats: nc ? (nc.isClosed() ? 'closed' : p.natsLink.state) : 'not connected',
      natsDisconnects: p.natsLink.disconnects,
      stored: ingestor?.stats.stored ?? 0,
      inserts: ingestor?.stats.batches ?? 0,
      rejects: ingestor?.stats.rejects ?? {},
      lostInStream: ingestor?.stats.lostInStream ?? 0,
      retimed: ingestor?.stats.retimed ?? 0,
      heartbeatRejects: heartbeats?.rejects ?? {},
      heartbeats: heartbeats
        ? { hosts: heartbeats.latest.size, maxHosts: heartbeats.maxHosts, ...heartbeats.storage }
        : null,
      consumer: ingestor?.stats.consumer ?? null,
      alerts: alerts?.stats ?? null,
      alertFollowers: followers?.report().followers ?? 0,
      detectionState: engine?.stateStats ?? null,
      alertThrottle: engine?.throttleStats ?? null,
      /** What those followers hold unsent, and the slow ones cut off (api/alert-stream.ts). */
      alertStream: followers?.report() ?? null,
      /** The same for followers of the live event stream (`vigil events --follow`). */
      eventStream: p.eventFollowers.report(),
      ...(p.config?.status ? { config: p.config.status() } : {}),
      ...(p.retention ? { retention: { ...p.retention, lastError: p.retentionError ?? null } } : {}),
      ...(p.suppressor ? { suppressed: p.suppressor.report() } : {}),
      ...(p.outputs ? { outputs: p.outputs.report() } : {}),
      ...(p.incidents
        ? {
            incidents: {
              open: p.incidents.stats.open,
              acknowledged: p.incidents.stats.acknowledged,
              updates: p.incidents.stats.updates,
              lastError: p.incidentStore?.stats.lastError ?? null,
            },
          }
        : {}),
      ...(cfg.supervised ? { supervised: cfg.supervised() } : {}),
      ...(p.response?.responder
        ? {
            responses: {
              outcomes: { ...p.response.responder.stats.outcomes },
              pending: p.response.responder.waiting,
              rejectedResults: { ...p.response.responder.stats.rejectedResults },
              policySkipped: { ...p.response.policies?.skipped },
            },
          }
        : {}),
    },
    sensors: [...(heartbeats?.latest.values() ?? [])].map(({ heartbeat: hb, receivedMs, cpuCores }) => {
      // By this control plane's clock: the sensor host's may be off (see ReceivedHeartbeat).
      const ageSeconds = (nowMs - receivedMs) / 1000;
      const receivedNs = BigInt(receivedMs) * 1_000_000n;
      // How far the sensor's clock runs ahead of this one's (negative: behind), transit included.
      const clockSkewSeconds = Number(BigInt(hb.ts) - receivedNs) / 1e9;
      // A sensor that stopped in order (its last heartbeat says so) is stopped, not silent.
      // An embedded sensor's RSS and CPU are this whole process's (the CLI says so).
      const sharesControlPlaneProcess = sharesThisProcess(hb);
      return {
        ...hb,
        receivedTs: receivedNs.toString(),
        ageSeconds,
        clockSkewSeconds,
        ...(cpuCores !== undefined ? { cpuCores } : {}),
        ...(sharesControlPlaneProcess ? { sharesControlPlaneProcess } : {}),
        silent: !hb.stopping && ageSeconds > silentAfterSeconds,
        stopped: hb.stopping === true,
      };
    }),
  } satisfies StatusReport;
}

/** `vigil detections list`: what is loaded, how often each fired or threw, and the custom ones' problems. */
export function detectionsReport(p: Parts): DetectionsReport {
  const { engine, custom } = p;
  return {
    // The heartbeat-driven built-ins are raised from the sensors' heartbeats, not matched on events.
    loaded: (engine ? [...engine.list(), ...HEARTBEAT_DETECTIONS] : []).map((d) => ({
      id: d.detection.id,
      title: d.detection.title,
      severity: d.detection.severity,
      ...(d.detection.ranks ? { ranks: d.detection.ranks } : {}),
      source: d.source,
      origin: d.origin,
      author: d.author,
      fired: engine?.fired.get(d.detection.id) ?? 0,
      errors: engine?.errors.get(d.detection.id) ?? 0,
    })),
    sql:
      custom?.report.sql.map((d) => ({
        id: d.id,
        title: d.title,
        severity: d.severity,
        origin: d.origin,
        intervalMs: d.intervalMs,
        lastError: custom?.sqlErrors.get(d.id) ?? null,
      })) ?? [],
    problems: custom?.report.problems ?? [],
  } satisfies DetectionsReport;
}
