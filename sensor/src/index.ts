export { startSensor, SENSOR_VERSION, DEFAULT_PROBES_DIR, type SensorConfig, type RunningSensor } from './sensor.js';
export { parseExtraDevice } from './gpu/devices.js';
export { PROBES, PROBE_NAMES, FLUSH_MS, HOLD_MS, type ProbeName } from './probes/registry.js';
export { composeProbes } from './probes/compose.js';
export { BatchCollector } from './assemble/batch.js';
export { parseBpftraceLine } from './decode/bpftrace-output.js';
export { EventPublisher, type PublisherOptions } from './export/publisher.js';
export { DiskSpool } from './export/spool.js';
export { Counters } from './counters.js';
