import type { AnyDetection } from '../define.js';
import { minerExec } from './miner-exec.js';
import { minerPoolConnect } from './miner-pool-connect.js';
import { minerPoolDns } from './miner-pool-dns.js';
import { minerConfig } from './miner-config.js';
import { minerDroppedConn } from './miner-dropped-conn.js';
import { gpuUnexpectedProcess } from './gpu-unexpected-process.js';
import { gpuForeignMemoryAccess } from './gpu-foreign-memory.js';
import { tunnelSshForward } from './tunnel-ssh.js';
import { tunnelTool } from './tunnel-tool.js';
import { tunnelConfig } from './tunnel-config.js';
import { tunnelRelay } from './tunnel-relay.js';
import { tunnelDomain } from './tunnel-domain.js';
import { shellReverse } from './shell-reverse.js';
import { shellReverseCmdline } from './shell-cmdline.js';
import { shellPipeFromNetwork } from './shell-pipe.js';
import { shellSpawnedByConnection } from './shell-spawned.js';
import { execSocketStdio } from './exec-socket-stdio.js';
import { execFileless } from './exec-fileless.js';
import { sensorTamper } from './sensor.js';
import { chainJobShellDownloadRun } from './chain.js';
import { exfilPipeToNetwork } from './exfil-pipe.js';
import { credUpload } from './cred-upload.js';
import { persistInstall } from './persist-install.js';

/** Built-in detections by id, matched on events (the sensor-health ones raise from heartbeats: health/). */
export const BUILTIN_DETECTIONS = {
  'miner.exec': minerExec,
  'miner.pool-connect': minerPoolConnect,
  'miner.pool-dns': minerPoolDns,
  'miner.config': minerConfig,
  'miner.dropped-long-conn': minerDroppedConn,
  'gpu.unexpected-process': gpuUnexpectedProcess,
  'gpu.foreign-memory-access': gpuForeignMemoryAccess,
  'tunnel.ssh-forward': tunnelSshForward,
  'tunnel.tool': tunnelTool,
  'tunnel.config': tunnelConfig,
  'tunnel.relay': tunnelRelay,
  'tunnel.domain': tunnelDomain,
  'shell.reverse': shellReverse,
  'shell.reverse-cmdline': shellReverseCmdline,
  'shell.pipe-from-network': shellPipeFromNetwork,
  'shell.spawned-by-connection': shellSpawnedByConnection,
  'exec.socket-stdio': execSocketStdio,
  'exec.fileless': execFileless,
  'sensor.tamper': sensorTamper,
  'chain.shell-download-run': chainJobShellDownloadRun,
  'exfil.pipe-to-network': exfilPipeToNetwork,
  'cred.upload': credUpload,
  'persist.install': persistInstall,
} as const satisfies Record<string, AnyDetection>;

export { SENSOR_HEALTH_DETECTIONS } from './health/index.js';
