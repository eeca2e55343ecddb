import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parser, type Interfaces } from '@oclif/core';
import { pino } from 'pino';
import { DEFAULT_SILENT_AFTER_SECONDS } from '@vigil/schema';
import Up from '../commands/up/index.js';
import Sensor from '../commands/sensor/index.js';
import ControlPlane from '../commands/control-plane/index.js';
import { controlPlaneConfig, sensorConfig, sensorSettings, type ControlPlanePlace } from './configs.js';
import { sensorArgs } from './sensor-process.js';
import { configPath } from './config-file.js';
import { StaticConfig } from '@vigil/control-plane';

const log = pino({ level: 'silent' });
/** A command's flags as oclif parses them from `argv`. */
const parse = async <F extends Interfaces.FlagInput>(argv: string[], flags: F) =>
  (await Parser.parse(argv, { flags, args: {}, strict: true })).flags as Interfaces.InferredFlags<F>;

const SENSOR_ARGV = [
  '--gpu-device',
  '/dev/dri/card9=drm',
  '--window-seconds',
  '7',
  '--probe',
  'exec',
  '--probe',
  'connect',
  '--separate-probes',
  '--spool-max-mb',
  '12',
  '--ancestry-depth',
  '3',
];

test('the sensor vigil up starts apart reads back, from its argv, the settings vigil up has', async () => {
  const settings = sensorSettings(await parse(SENSOR_ARGV, Up.flags));
  const argv = sensorArgs({
    ...settings,
    natsUrl: 'nats://127.0.0.1:1',
    auth: {},
    hostId: 'h1',
    spoolDir: '/tmp/spool',
    log,
  });
  assert.equal(argv[0], 'sensor');
  const apart = sensorSettings(await parse(argv.slice(1), Sensor.flags));
  assert.deepEqual(apart, settings);
});

test('vigil sensor and vigil up make the same sensor configuration of the same flags', async () => {
  const place = { nats: { servers: 'nats://127.0.0.1:1' }, hostId: 'h1', spoolDir: '/tmp/spool', log };
  const alone = sensorConfig(sensorSettings(await parse(SENSOR_ARGV, Sensor.flags)), place);
  const up = sensorConfig(sensorSettings(await parse(SENSOR_ARGV, Up.flags)), place);
  assert.deepEqual(alone, up);
  assert.deepEqual(alone.gpuDevices, [{ path: '/dev/dri/card9', driver: 'drm' }]);
  assert.equal(alone.spoolMaxBytes, 12 * 1024 * 1024);
});

test('vigil control-plane and vigil up make the same control-plane configuration of the same flags', async () => {
  const argv = [
    '--api-port',
    '9999',
    '--api-host',
    '127.0.0.2',
    '--api-allowed-host',
    'vigil.example',
    '--store-linger-ms',
    '10',
    '--query-threads',
    '2',
    '--query-memory-mb',
    '100',
    '--detections',
    '/etc/vigil/rules',
    '--gpu-expected',
    '/opt/train/*',
    '--gpu-expected',
    'cgroup:/slurm/*',
    '--clickhouse',
    'http://ch:8123',
  ];
  const place: ControlPlanePlace = {
    embeddedDir: '/tmp/ch',
    nats: { servers: 'nats://127.0.0.1:1' },
    token: 't'.repeat(32),
    log,
  };
  const alone = controlPlaneConfig(await parse(argv, ControlPlane.flags), place);
  const up = controlPlaneConfig(await parse(argv, Up.flags), place);
  // vigil up has no --silent-after: the control plane's default applies, the one `vigil control-plane` states.
  assert.deepEqual(alone, { ...up, silentAfterSeconds: DEFAULT_SILENT_AFTER_SECONDS });
  assert.deepEqual(up.storage, { kind: 'server', url: 'http://ch:8123' });
  assert.deepEqual(up.api, { host: '127.0.0.2', port: 9999, token: place.token, allowedHosts: ['vigil.example'] });
  assert.deepEqual(up.expectedGpu, { exe: ['/opt/train/*'], cgroup: ['/slurm/*'] });
  assert.deepEqual(up.queryLimits, { maxThreads: 2, maxMemoryBytes: 100 * 1024 * 1024 });
});

test('vigil.yaml: --config, else VIGIL_CONFIG; the file reaches the control plane, and --gpu-expected given wins', async () => {
  const saved = process.env.VIGIL_CONFIG;
  try {
    process.env.VIGIL_CONFIG = '/etc/vigil/from-env.yaml';
    assert.equal(
      configPath((await parse(['--config', '/etc/vigil/flag.yaml'], Up.flags)).config),
      '/etc/vigil/flag.yaml',
    );
    assert.equal(configPath((await parse([], ControlPlane.flags)).config), '/etc/vigil/from-env.yaml');
    delete process.env.VIGIL_CONFIG;
    assert.equal(configPath((await parse([], ControlPlane.flags)).config), undefined);
  } finally {
    if (saved === undefined) delete process.env.VIGIL_CONFIG;
    else process.env.VIGIL_CONFIG = saved;
  }
  const config = new StaticConfig({ gpu: { expected: { exe: ['/from/file/**'] } } });
  const place: ControlPlanePlace = { embeddedDir: '/tmp/ch', nats: {}, token: 't'.repeat(32), log, config };
  const withoutFlag = controlPlaneConfig(await parse([], ControlPlane.flags), place);
  assert.equal(withoutFlag.config, config);
  // No flag: nothing set over the file's gpu.expected and detections.
  assert.equal(withoutFlag.expectedGpu, undefined);
  assert.equal(withoutFlag.detections, undefined);
  const withFlag = controlPlaneConfig(await parse(['--gpu-expected', '/flag/**'], Up.flags), place);
  assert.deepEqual(withFlag.expectedGpu, { exe: ['/flag/**'], cgroup: [] });
});
