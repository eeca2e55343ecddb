import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConnectionOptions } from 'nats';
import { CONTROL_PLANE_INBOX_PREFIX, hostIdFrom, runSteps, sensorInboxPrefix } from '@vigil/schema';
import { parseExtraDevice, startSensor, type ProbeName } from '@vigil/sensor';
import type { QueryLimits } from '@vigil/control-plane';
import { startLocalNats, type LocalNats, type NatsServerReport } from './nats-server.js';
import { startSensorProcess, type SensorNatsAuth, type SensorProcess } from './sensor-process.js';
import type { ChildReport } from './child-supervisor.js';
import { localNatsAuth } from './local-nats-auth.js';
import { API_TOKEN_FILE, loadOrCreateApiToken, readerGroupId, secureDir } from './local-secrets.js';

export { untilSignal } from './signals.js';

export interface StackOptions {
  dataDir: string;
  apiPort: number;
  apiHost: string;
  /** The API's bearer token; without it, the one in <dataDir>/api-token (created at the first start). */
  apiToken?: string;
  /** Host names the API answers to beyond loopback names and IP literals (see the control plane's api/guard.ts). */
  apiAllowedHosts?: string[];
  natsPort: number;
  natsUrl?: string;
  /** Authentication and TLS for an external NATS (--nats). */
  natsOptions?: ConnectionOptions;
  /** The same, as the sensor process is given it (secrets in its environment). */
  sensorNatsAuth?: SensorNatsAuth;
  /** Runs the sensor inside this process, beside the control plane (the benchmark's comparison). */
  sensorInProcess?: boolean;
  clickhouseUrl?: string;
  hostId?: string;
  gpuDevices: string[];
  windowSeconds: number;
  spoolMaxBytes?: number;
  probes?: ProbeName[];
  separateProbes?: boolean;
  ancestryDepth?: number;
  detections?: string[];
  expectedGpu?: { exe: string[]; cgroup: string[] };
  storeLingerMs?: number;
  /** The events stream's size (ControlPlaneConfig.streamMaxBytes). */
  streamMaxBytes?: number;
  queryLimits?: Partial<QueryLimits>;
  log: Logger;
}

/** The processes `vigil up` keeps running, as the control plane's status shows them (`supervised`). */
export interface SupervisedReport {
  natsServer: NatsServerReport | null;
  sensor: (ChildReport & { process: 'separate' }) | { process: 'in-process' } | null;
}

export interface RunningStack {
  apiUrl: string;
  natsUrl: string;
  /** Where the API token is kept, unless it was given. */
  apiTokenFile: string | null;
  stop: () => Promise<void>;
}

/**
 * Everything on one host: nats-server (unless --nats), the control plane, then the sensor in its own
 * process; stopped in reverse. nats-server and the sensor are kept running (restarted when they exit,
 * nats-server also when its JetStream is disabled) and die with this process. The data directory is
 * closed to other users; the nats-server started here admits only the control plane and this host's
 * sensor, with credentials kept under <dataDir>/secrets; the API wants its token.
 */
export async function startStack(o: StackOptions): Promise<RunningStack> {
  let natsUrl = o.natsUrl ?? '';
  let apiUrl = '';
  const host = o.hostId ?? hostIdFrom(hostname());
  const apiTokenFile = o.apiToken ? null : join(o.dataDir, API_TOKEN_FILE);
  // An external NATS authenticates both parts as its flags say; each part keeps its own replies.
  let cpNats: ConnectionOptions = { inboxPrefix: CONTROL_PLANE_INBOX_PREFIX, ...o.natsOptions };
  let sensorNats: ConnectionOptions = { inboxPrefix: sensorInboxPrefix(host), ...o.natsOptions };
  // Parsed here too when the sensor runs apart: a bad one stops `vigil up` before anything starts.
  const gpuDevices = o.gpuDevices.map(parseExtraDevice);
  let sensorAuth: SensorNatsAuth = { inboxPrefix: sensorInboxPrefix(host), ...o.sensorNatsAuth };
  let localNats: LocalNats | null = null;
  let sensorProcess: SensorProcess | null = null;
  const supervised = (): SupervisedReport => ({
    natsServer: localNats?.report() ?? null,
    sensor: o.sensorInProcess ? { process: 'in-process' } : sensorProcess ? { process: 'separate', ...sensorProcess.report() } : null,
  });
  const stop = await runSteps([
    {
      name: 'data-dir',
      start: async () => { secureDir(o.dataDir, readerGroupId()); },
    },
    {
      name: 'nats-server',
      start: async () => {
        if (o.natsUrl) return;
        const auth = localNatsAuth(o.dataDir, host, o.log);
        const nats = await startLocalNats({ dataDir: o.dataDir, port: o.natsPort, configFile: auth.configFile, health: auth.controlPlane, log: o.log });
        localNats = nats;
        natsUrl = nats.url;
        cpNats = { servers: natsUrl, ...auth.controlPlane };
        sensorNats = { servers: natsUrl, ...auth.sensor };
        sensorAuth = { user: auth.sensor.user!, pass: auth.sensor.pass!, inboxPrefix: auth.sensor.inboxPrefix! };
        return nats.stop;
      },
    },
    {
      name: 'control-plane',
      start: async () => {
        // Imported here, not at the top: see services/detections.ts (chDB stays out of `vigil sensor`).
        const { startControlPlane } = await import('@vigil/control-plane');
        const cp = await startControlPlane({
          storage: o.clickhouseUrl ? { kind: 'server', url: o.clickhouseUrl } : { kind: 'embedded', dataDir: `${o.dataDir}/clickhouse` },
          nats: cpNats,
          api: {
            host: o.apiHost, port: o.apiPort,
            token: o.apiToken ?? loadOrCreateApiToken(apiTokenFile!, o.log),
            ...(o.apiAllowedHosts ? { allowedHosts: o.apiAllowedHosts } : {}),
          },
          ...(o.detections ? { detections: o.detections } : {}),
          ...(o.expectedGpu ? { expectedGpu: o.expectedGpu } : {}),
          ...(o.storeLingerMs !== undefined ? { storeLingerMs: o.storeLingerMs } : {}),
          ...(o.streamMaxBytes !== undefined ? { streamMaxBytes: o.streamMaxBytes } : {}),
          ...(o.queryLimits ? { queryLimits: o.queryLimits } : {}),
          supervised,
          log: o.log,
        });
        apiUrl = cp.apiUrl;
        return cp.stop;
      },
    },
    {
      name: 'sensor',
      start: async () => {
        if (!o.sensorInProcess) {
          sensorProcess = await startSensorProcess({
            natsUrl, auth: sensorAuth, hostId: host, gpuDevices: o.gpuDevices, windowSeconds: o.windowSeconds,
            spoolDir: `${o.dataDir}/spool`,
            ...(o.spoolMaxBytes ? { spoolMaxBytes: o.spoolMaxBytes } : {}),
            ...(o.probes ? { probes: o.probes } : {}),
            ...(o.separateProbes ? { separateProbes: true } : {}),
            ...(o.ancestryDepth !== undefined ? { ancestryDepth: o.ancestryDepth } : {}),
            log: o.log,
          });
          return sensorProcess.stop;
        }
        const s = await startSensor({
          nats: sensorNats,
          hostId: host,
          gpuDevices,
          windowSeconds: o.windowSeconds,
          spoolDir: `${o.dataDir}/spool`,
          ...(o.spoolMaxBytes ? { spoolMaxBytes: o.spoolMaxBytes } : {}),
          ...(o.probes ? { probes: o.probes } : {}),
          ...(o.separateProbes ? { separateProbes: true } : {}),
          ...(o.ancestryDepth !== undefined ? { ancestryDepth: o.ancestryDepth } : {}),
          log: o.log,
        });
        return s.stop;
      },
    },
  ], o.log);
  return { apiUrl, natsUrl, apiTokenFile, stop };
}
