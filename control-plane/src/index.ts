export {
  startControlPlane,
  CONTROL_PLANE_VERSION,
  type ControlPlaneConfig,
  type RunningControlPlane,
} from './control-plane.js';
export type { StorageTarget } from './store/client.js';
export type { QueryLimits } from './store/readonly-query.js';
export { loadDetections, type LoadReport, type LoadProblem } from './detect/custom/loader.js';
export { DetectionEngine, type LoadedDetection } from './detect/engine.js';
export { BUILTIN_DETECTIONS } from './detect/builtin/index.js';
export { checkDetections } from './detect/custom/check.js';
export { runSqlDetectionsOver, type SqlRun } from './detect/custom/sql-check.js';
export { CONSUMER_NAME } from './ingest/streams.js';
export { FileConfig } from './config/file-config.js';
export { ConfigFileError } from './config/parse.js';
export { StaticConfig, type ConfigSource } from './config/source.js';
export { PartitionedIngest, partitionConsumer, type PartitionedIngestOptions } from './ingest/partitioned-ingest.js';
export { createStorageClients, type StorageClients } from './store/client.js';
export { migrate } from './store/migrations.js';
