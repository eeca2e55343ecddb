import type { ConnectionOptions } from 'nats';
import type { Logger } from 'pino';
import { DEFAULT_API_HOST } from '@vigil/schema';
import { parseExtraDevice, type ProbeName, type SensorConfig } from '@vigil/sensor';
// Types only: chDB stays out of `vigil sensor` (see services/detections.ts).
import type { ConfigSource, ControlPlaneConfig } from '@vigil/control-plane';
import { expectedGpu, queryLimits } from './flags.js';
import type { ServeTls } from './tls-settings.js';

/**
 * From flags to the sensor's and the control plane's configuration, once for every command that
 * runs them: `vigil sensor` and `vigil control-plane` alone, `vigil up` both.
 */

/** What sensorFlags hold once parsed. */
export interface SensorFlagValues {
  'gpu-device': string[];
  'window-seconds': number;
  probe?: string[] | undefined;
  'separate-probes': boolean;
  'spool-max-mb': number;
  'ancestry-depth': number;
}

/**
 * The sensor's settings its flags give: the same whether it runs as `vigil sensor`, in its own
 * process under `vigil up` (handed on as flags, see sensor-process.ts) or inside `vigil up`.
 */
export interface SensorSettings {
  /** As typed, PATH[=kind]: parsed by sensorConfig, handed on as text to the sensor's own process. */
  gpuDevices: string[];
  windowSeconds: number;
  spoolMaxBytes: number;
  probes?: ProbeName[];
  separateProbes?: boolean;
  ancestryDepth: number;
}

export function sensorSettings(flags: SensorFlagValues): SensorSettings {
  return {
    gpuDevices: flags['gpu-device'],
    windowSeconds: flags['window-seconds'],
    spoolMaxBytes: flags['spool-max-mb'] * 1024 * 1024,
    // The flag's options are PROBE_NAMES: oclif refuses any other value.
    ...(flags.probe ? { probes: flags.probe as ProbeName[] } : {}),
    ...(flags['separate-probes'] ? { separateProbes: true } : {}),
    ancestryDepth: flags['ancestry-depth'],
  };
}

/** Where this sensor runs: what its command decides beside the flags. */
export interface SensorPlace {
  nats: ConnectionOptions;
  hostId: string;
  spoolDir: string;
  log: Logger;
}

/** startSensor's configuration; a GPU device that does not parse is an error here, before anything starts. */
export function sensorConfig(s: SensorSettings, place: SensorPlace): SensorConfig {
  return {
    nats: place.nats,
    hostId: place.hostId,
    gpuDevices: s.gpuDevices.map(parseExtraDevice),
    windowSeconds: s.windowSeconds,
    spoolDir: place.spoolDir,
    spoolMaxBytes: s.spoolMaxBytes,
    ...(s.probes ? { probes: s.probes } : {}),
    ...(s.separateProbes ? { separateProbes: true } : {}),
    ancestryDepth: s.ancestryDepth,
    log: place.log,
  };
}

/** What the control plane's flags (storageFlags, detectionFlags, apiServeFlags and the API's address) hold once parsed. */
export interface ControlPlaneFlagValues {
  clickhouse?: string | undefined;
  /** Absent: DEFAULT_API_HOST (vigil up's --listen decides it when given). */
  'api-host'?: string | undefined;
  'api-port': number;
  'api-allowed-host'?: string[] | undefined;
  'silent-after'?: number | undefined;
  'ingest-lease-seconds'?: number | undefined;
  'store-linger-ms': number;
  'stream-max-mb'?: number | undefined;
  'query-timeout-seconds'?: number | undefined;
  'query-memory-mb'?: number | undefined;
  'query-threads'?: number | undefined;
  detections?: string[] | undefined;
  'gpu-expected'?: string[] | undefined;
}

/** Where this control plane runs: what its command decides beside the flags. */
export interface ControlPlanePlace {
  /** The embedded engine's data directory, used unless --clickhouse names a server. */
  embeddedDir: string;
  nats: ConnectionOptions;
  token: string;
  log: Logger;
  supervised?: ControlPlaneConfig['supervised'];
  signal?: AbortSignal;
  /** vigil.yaml, loaded (see services/config-file.ts). */
  config?: ConfigSource;
  /** HTTPS for the API (tls-settings.ts); null or absent: plain HTTP. */
  tls?: ServeTls | null;
}

export function controlPlaneConfig(flags: ControlPlaneFlagValues, place: ControlPlanePlace): ControlPlaneConfig {
  return {
    storage: flags.clickhouse
      ? { kind: 'server', url: flags.clickhouse }
      : { kind: 'embedded', dataDir: place.embeddedDir },
    nats: place.nats,
    api: {
      host: flags['api-host'] ?? DEFAULT_API_HOST,
      port: flags['api-port'],
      token: place.token,
      ...(flags['api-allowed-host'] ? { allowedHosts: flags['api-allowed-host'] } : {}),
      ...(place.tls ? { tls: { ...place.tls.pem, clientAuth: place.tls.clientAuth } } : {}),
    },
    ...(flags['silent-after'] !== undefined ? { silentAfterSeconds: flags['silent-after'] } : {}),
    ...(flags['ingest-lease-seconds'] !== undefined ? { ingestLeaseSeconds: flags['ingest-lease-seconds'] } : {}),
    storeLingerMs: flags['store-linger-ms'],
    ...(flags['stream-max-mb'] !== undefined ? { streamMaxBytes: flags['stream-max-mb'] * 1024 * 1024 } : {}),
    queryLimits: queryLimits(flags),
    ...(flags.detections ? { detections: flags.detections } : {}),
    // Given, the flags win over vigil.yaml's gpu.expected and detections.
    ...(flags['gpu-expected'] ? { expectedGpu: expectedGpu(flags['gpu-expected']) } : {}),
    ...(place.config ? { config: place.config } : {}),
    ...(place.supervised ? { supervised: place.supervised } : {}),
    log: place.log,
    ...(place.signal ? { signal: place.signal } : {}),
  };
}
