import type { Logger } from 'pino';
import type { ConnectionOptions } from 'nats';
import { runSteps } from '@vigil/schema';
import { parseExtraDevice, startSensor, type ProbeName } from '@vigil/sensor';
import type { QueryLimits } from '@vigil/control-plane';
import { startLocalNats } from './nats-server.js';

export { untilSignal } from './signals.js';

export interface StackOptions {
  dataDir: string;
  apiPort: number;
  apiHost: string;
  natsPort: number;
  natsUrl?: string;
  /** Authentication and TLS for an external NATS (--nats). */
  natsOptions?: ConnectionOptions;
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
  queryLimits?: Partial<QueryLimits>;
  log: Logger;
}

export interface RunningStack {
  apiUrl: string;
  natsUrl: string;
  stop: () => Promise<void>;
}

/** Everything on one host: nats-server (unless --nats), the control plane, then the sensor. */
export async function startStack(o: StackOptions): Promise<RunningStack> {
  let natsUrl = o.natsUrl ?? '';
  let apiUrl = '';
  const gpuDevices = o.gpuDevices.map(parseExtraDevice);
  const stop = await runSteps([
    {
      name: 'nats-server',
      start: async () => {
        if (o.natsUrl) return;
        const nats = await startLocalNats({ dataDir: o.dataDir, port: o.natsPort, log: o.log });
        natsUrl = nats.url;
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
          nats: o.natsOptions ?? { servers: natsUrl },
          api: { host: o.apiHost, port: o.apiPort, ...(process.env.VIGIL_API_TOKEN ? { token: process.env.VIGIL_API_TOKEN } : {}) },
          ...(o.detections ? { detections: o.detections } : {}),
          ...(o.expectedGpu ? { expectedGpu: o.expectedGpu } : {}),
          ...(o.storeLingerMs !== undefined ? { storeLingerMs: o.storeLingerMs } : {}),
          ...(o.queryLimits ? { queryLimits: o.queryLimits } : {}),
          log: o.log,
        });
        apiUrl = cp.apiUrl;
        return cp.stop;
      },
    },
    {
      name: 'sensor',
      start: async () => {
        const s = await startSensor({
          nats: o.natsOptions ?? { servers: natsUrl },
          ...(o.hostId ? { hostId: o.hostId } : {}),
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
  return { apiUrl, natsUrl, stop };
}
