import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConnectionOptions } from 'nats';
import { CONTROL_PLANE_INBOX_PREFIX, hostIdFrom, runSteps, sensorInboxPrefix } from '@vigil/schema';
import { startSensor } from '@vigil/sensor';
import {
  controlPlaneConfig,
  sensorConfig,
  type ControlPlaneFlagValues,
  type SensorPlace,
  type SensorSettings,
} from './configs.js';
import { startLocalNats, type LocalNats, type NatsServerReport } from './nats-server.js';
import { startSensorProcess, type SensorNatsAuth, type SensorProcess } from './sensor-process.js';
import type { ChildReport } from './child-supervisor.js';
import type { ConfigSource, ControlPlaneConfig } from '@vigil/control-plane';
import { localNatsAuth } from './local-nats-auth.js';
import { localNatsTls, type ServeTls } from './tls-settings.js';
import { API_TOKEN_FILE, loadOrCreateApiToken, readerGroupId, secureDir } from './local-secrets.js';
import { loadOrCreateResponseKeys, type ResponseKeys } from './response-keys.js';

export { untilSignal } from './signals.js';

export interface StackOptions {
  dataDir: string;
  /** The control plane's flags: storage, API address, detections (see configs.ts). */
  controlPlane: ControlPlaneFlagValues;
  /** The API's bearer token; without it, the one in <dataDir>/api-token (created at the first start). */
  apiToken?: string;
  natsPort: number;
  /** The address the nats-server started here listens on (default 127.0.0.1); the API's is in controlPlane. */
  listen?: string;
  /**
   * The NATS URLs enrolling sensors are told to connect to (`--advertise-nats`). Default: the URL
   * started here, or, when it listens on every address, this machine's hostname (a name the server
   * certificate `vigil certs` makes carries).
   */
  advertiseNats?: string[];
  /** TLS for the nats-server started here and the API (tls-settings.ts); null or absent: none. */
  tls?: ServeTls | null;
  natsUrl?: string;
  /** Authentication and TLS for an external NATS (--nats). */
  natsOptions?: ConnectionOptions;
  /** The same, as the sensor process is given it (secrets in its environment). */
  sensorNatsAuth?: SensorNatsAuth;
  /** Runs the sensor inside this process, beside the control plane (the benchmark's comparison). */
  sensorInProcess?: boolean;
  /** Runs no sensor here: the central side alone, for sensors deployed to other hosts (`--no-sensor`). */
  noSensor?: boolean;
  hostId?: string;
  /** vigil.yaml, loaded (see config-file.ts). */
  config?: ConfigSource;
  /** The sensor's settings from its flags (see configs.ts). */
  sensor: SensorSettings;
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
  // Parsed here too when the sensor runs apart: a bad GPU device stops `vigil up` before anything starts.
  const sensorPlace = (): SensorPlace => ({
    nats: sensorNats,
    hostId: host,
    spoolDir: `${o.dataDir}/spool`,
    log: o.log,
  });
  sensorConfig(o.sensor, sensorPlace());
  let sensorAuth: SensorNatsAuth = { inboxPrefix: sensorInboxPrefix(host), ...o.sensorNatsAuth };
  let localNats: LocalNats | null = null;
  // Enrollment needs the account signing key: only with the nats-server started here.
  let enroll: ControlPlaneConfig['enroll'];
  let sensorProcess: SensorProcess | null = null;
  let responseKeys: ResponseKeys | null = null;
  // The sensor never kills `vigil up` (the control plane runs in it) nor nats-server, whatever its pid now.
  const protectedPids = () => [process.pid, ...(localNats?.report().pid ? [localNats.report().pid!] : [])];
  const supervised = (): SupervisedReport => ({
    natsServer: localNats?.report() ?? null,
    sensor: o.sensorInProcess
      ? { process: 'in-process' }
      : sensorProcess
        ? { process: 'separate', ...sensorProcess.report() }
        : null,
  });
  const stop = await runSteps(
    [
      {
        name: 'data-dir',
        start: async () => {
          secureDir(o.dataDir, readerGroupId());
          responseKeys = loadOrCreateResponseKeys(o.dataDir, o.log);
        },
      },
      {
        name: 'nats-server',
        start: async () => {
          if (o.natsUrl) return;
          const auth = await localNatsAuth(o.dataDir, host, o.log, o.tls);
          const tls = o.tls ? localNatsTls(o.tls) : undefined;
          const nats = await startLocalNats({
            dataDir: o.dataDir,
            port: o.natsPort,
            ...(o.listen ? { host: o.listen } : {}),
            ...(tls ? { tls } : {}),
            configFile: auth.configFile,
            health: auth.controlPlane,
            log: o.log,
          });
          localNats = nats;
          natsUrl = nats.url;
          cpNats = { servers: natsUrl, ...auth.controlPlane, ...(tls ? { tls } : {}) };
          sensorNats = { servers: natsUrl, ...auth.sensor, ...(tls ? { tls } : {}) };
          sensorAuth = {
            creds: auth.sensorCredsFile,
            inboxPrefix: auth.sensor.inboxPrefix!,
            ...(tls?.caFile ? { tlsCa: tls.caFile } : {}),
            ...(tls?.certFile ? { tlsCert: tls.certFile, tlsKey: tls.keyFile! } : {}),
          };
          enroll = {
            authority: auth.authority,
            stateDir: auth.stateDir,
            natsUrls: o.advertiseNats?.length ? o.advertiseNats : [advertisedNatsUrl(natsUrl, o.listen)],
            push: { servers: natsUrl, ...(tls ? { tls } : {}) },
          };
          return nats.stop;
        },
      },
      {
        name: 'control-plane',
        start: async () => {
          // Imported here, not at the top: see services/detections.ts (chDB stays out of `vigil sensor`).
          const { startControlPlane } = await import('@vigil/control-plane');
          const cp = await startControlPlane({
            ...controlPlaneConfig(o.controlPlane, {
              embeddedDir: `${o.dataDir}/clickhouse`,
              nats: cpNats,
              token: o.apiToken ?? loadOrCreateApiToken(apiTokenFile!, o.log),
              supervised,
              log: o.log,
              ...(o.config ? { config: o.config } : {}),
              ...(o.tls ? { tls: o.tls } : {}),
            }),
            responseKey: responseKeys!.privateKey,
            ...(enroll ? { enroll } : {}),
          });
          apiUrl = cp.apiUrl;
          return cp.stop;
        },
      },
      {
        name: 'sensor',
        start: async () => {
          if (o.noSensor) return;
          if (!o.sensorInProcess) {
            sensorProcess = await startSensorProcess({
              ...o.sensor,
              natsUrl,
              auth: sensorAuth,
              hostId: host,
              spoolDir: `${o.dataDir}/spool`,
              responseKeyFile: responseKeys!.publicKeyFile,
              protectedPids,
              log: o.log,
            });
            return sensorProcess.stop;
          }
          const s = await startSensor({
            ...sensorConfig(o.sensor, sensorPlace()),
            responseKeyFile: responseKeys!.publicKeyFile,
            protectedPids: protectedPids(),
          });
          return s.stop;
        },
      },
    ],
    o.log,
  );
  return { apiUrl, natsUrl, apiTokenFile, stop };
}

/** The URL of the nats-server started here as other hosts reach it: a wildcard listener by this machine's name. */
export function advertisedNatsUrl(localUrl: string, listen: string | undefined): string {
  if (listen !== '0.0.0.0' && listen !== '::') return localUrl;
  const u = new URL(localUrl);
  return `nats://${hostname()}:${u.port}`;
}
