import type { AnyDetection } from '../define.js';
import { minerExec, minerPoolConnect } from './miner.js';
import { gpuForeignMemoryAccess, gpuUnexpectedProcess } from './gpu.js';
import { tunnelSshForward } from './tunnel-ssh.js';
import { tunnelTool } from './tunnel-tool.js';
import { tunnelConfig } from './tunnel-config.js';
import { tunnelRelay } from './tunnel-relay.js';
import { tunnelDomain } from './tunnel-domain.js';
import { shellReverse } from './shell.js';
import { sensorTamper } from './sensor.js';
import { chainJobShellDownloadRun } from './chain.js';

/** Built-in detections by id, matched on events (the sensor-health ones raise from heartbeats: health/). */
export const BUILTIN_DETECTIONS = {
  'miner.exec': minerExec,
  'miner.pool-connect': minerPoolConnect,
  'gpu.unexpected-process': gpuUnexpectedProcess,
  'gpu.foreign-memory-access': gpuForeignMemoryAccess,
  'tunnel.ssh-forward': tunnelSshForward,
  'tunnel.tool': tunnelTool,
  'tunnel.config': tunnelConfig,
  'tunnel.relay': tunnelRelay,
  'tunnel.domain': tunnelDomain,
  'shell.reverse': shellReverse,
  'sensor.tamper': sensorTamper,
  'chain.shell-download-run': chainJobShellDownloadRun,
} as const satisfies Record<string, AnyDetection>;

export { SENSOR_HEALTH_DETECTIONS } from './health/index.js';
