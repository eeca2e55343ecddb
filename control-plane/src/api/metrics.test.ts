import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlaneMetrics, type MetricsSource } from './metrics.js';

const heartbeat = (
  host: string,
  extra: Partial<MetricsSource['sensors'][number]> = {},
): MetricsSource['sensors'][number] => ({
  v: 1,
  host,
  ts: '1',
  sensorVersion: 't',
  startedTs: '1',
  counters: {
    recordsRead: 10,
    eventsPublished: 8,
    eventsDropped: 2,
    lostEvents: 1,
    rejects: { 'exec.schema': 3 },
    queueDepth: 5,
    spoolBytes: 4096,
    spoolEvents: 7,
    processCacheSize: 99,
  },
  probes: [
    { name: 'exec', state: 'running', restarts: 1, lostEvents: 0, lastError: null },
    { name: 'gpu', state: 'skipped', restarts: 0, lostEvents: 0, lastError: null },
  ],
  ageSeconds: 1.5,
  clockSkewSeconds: -0.25,
  silent: false,
  stopped: false,
  ...extra,
});

const source = (sensors: MetricsSource['sensors']): MetricsSource => ({
  controlPlane: {
    storageHealthy: true,
    nats: 'connected',
    stored: 1234,
    inserts: 5,
    rejects: { schema: 2, 'not-json': 1 },
    lostInStream: 0,
    retimed: 3,
    heartbeatRejects: { schema: 4 },
    heartbeats: { hosts: 2, maxHosts: 1024, stored: 9, inserts: 2, dropped: 0, lastError: null },
    consumer: { healthy: true, problem: null, recreated: 0, lastProblem: null },
    alerts: { raised: 6, stored: 6, published: 6, dropped: 0, lastError: null },
    alertFollowers: 1,
    detectionState: {
      processes: 9,
      bytes: 4096,
      budgetBytes: 8192,
      released: { exited: 5, aged: 1 },
      evicted: { bytes: 7, processes: 0 },
      eventsOverShare: 2,
    },
  },
  sensors,
  detections: [{ id: 'miner.exec', source: 'builtin', fired: 2, errors: 0 }],
});

/** The value of the one sample line `name{labels}` (labels as rendered), or undefined. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test("the status figures and each sensor's counts come out as Prometheus series", async () => {
  const text = await new ControlPlaneMetrics(() =>
    source([
      heartbeat('gpu-node-1'),
      heartbeat('gpu-node-2', {
        silent: true,
        footprint: {
          processRssBytes: 100,
          probeRssBytes: 50,
          compilerRssReleasedBytes: 0,
          processCpuSeconds: 12.5,
          probeCpuSeconds: 3.25,
        },
      }),
    ]),
  ).text();
  assert.match(text, /^# TYPE vigil_events_stored_total counter$/m);
  assert.equal(sample(text, 'vigil_events_stored_total'), 1234);
  assert.equal(sample(text, 'vigil_events_rejected_total{reason="not-json"}'), 1);
  assert.equal(sample(text, 'vigil_events_retimed_total'), 3);
  assert.equal(sample(text, 'vigil_storage_healthy'), 1);
  assert.equal(sample(text, 'vigil_detection_fired_total{detection="miner.exec",source="builtin"}'), 2);
  assert.equal(sample(text, 'vigil_detection_state_bytes'), 4096);
  assert.equal(
    sample(text, 'vigil_detection_state_released_total{reason="bytes"}'),
    7,
    'evictions over the budget, by reason',
  );
  assert.equal(sample(text, 'vigil_detection_state_released_total{reason="exited"}'), 5);
  assert.equal(sample(text, 'vigil_sensor_up{host="gpu-node-1"}'), 1);
  assert.equal(sample(text, 'vigil_sensor_up{host="gpu-node-2"}'), 0, 'a silent sensor is down');
  assert.equal(sample(text, 'vigil_sensor_events_dropped_total{host="gpu-node-1"}'), 2);
  assert.equal(sample(text, 'vigil_sensor_lost_events_total{host="gpu-node-1"}'), 1);
  assert.equal(sample(text, 'vigil_sensor_rejects_total{host="gpu-node-1",reason="exec.schema"}'), 3);
  assert.equal(sample(text, 'vigil_sensor_spool_bytes{host="gpu-node-1"}'), 4096);
  assert.equal(sample(text, 'vigil_sensor_clock_skew_seconds{host="gpu-node-1"}'), -0.25);
  assert.equal(sample(text, 'vigil_sensor_probe_running{host="gpu-node-1",probe="gpu",state="skipped"}'), 0);
  assert.equal(sample(text, 'vigil_sensor_probe_restarts_total{host="gpu-node-1",probe="exec"}'), 1);
  assert.equal(sample(text, 'vigil_sensor_resident_bytes{host="gpu-node-2",part="probes"}'), 50);
  assert.equal(
    sample(text, 'vigil_sensor_resident_bytes{host="gpu-node-1",part="probes"}'),
    undefined,
    'no footprint, no series',
  );
  assert.equal(sample(text, 'vigil_sensor_cpu_seconds_total{host="gpu-node-2",part="process"}'), 12.5);
  assert.equal(sample(text, 'vigil_sensor_cpu_seconds_total{host="gpu-node-2",part="probes"}'), 3.25);
  assert.equal(sample(text, 'vigil_sensor_cpu_seconds_total{host="gpu-node-1",part="process"}'), undefined);
  assert.ok(sample(text, 'process_cpu_seconds_total') !== undefined, "the control plane process's own metrics");
});

test("a sensor's latency buckets become a cumulative histogram in seconds", async () => {
  const latency = {
    boundsMs: [1, 2, 5],
    stages: { 'exec.read': { count: 7, sumMs: 40, maxMs: 9, buckets: [1, 2, 0, 4] } },
  };
  const text = await new ControlPlaneMetrics(() => source([heartbeat('h', { latency })])).text();
  assert.match(text, /^# TYPE vigil_sensor_stage_latency_seconds histogram$/m);
  const bucket = (le: string) =>
    sample(text, `vigil_sensor_stage_latency_seconds_bucket{host="h",stage="exec.read",le="${le}"}`);
  assert.deepEqual([bucket('0.001'), bucket('0.002'), bucket('0.005'), bucket('+Inf')], [1, 3, 3, 7]);
  assert.equal(sample(text, 'vigil_sensor_stage_latency_seconds_sum{host="h",stage="exec.read"}'), 0.04);
  assert.equal(sample(text, 'vigil_sensor_stage_latency_seconds_count{host="h",stage="exec.read"}'), 7);
  const forged = {
    boundsMs: Array.from({ length: 10_000 }, (_, i) => i + 1),
    stages: { 'exec.read': { count: 1, sumMs: 1, maxMs: 1, buckets: [1] } },
  };
  const unordered = { boundsMs: [5, 1], stages: { 'exec.read': { count: 1, sumMs: 1, maxMs: 1, buckets: [1] } } };
  for (const bad of [forged, unordered]) {
    const t = await new ControlPlaneMetrics(() => source([heartbeat('h', { latency: bad })])).text();
    assert.equal(
      t.split('\n').filter((l) => l.startsWith('vigil_sensor_stage_latency_seconds')).length,
      0,
      'no histogram from bounds no sensor sends',
    );
    assert.equal(sample(t, 'vigil_sensor_up{host="h"}'), 1, 'the rest of the host is there');
  }
});

test('names a heartbeat makes up are escaped label values, at most 64 per host and family', async () => {
  const rejects = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`r${String(i).padStart(3, '0')}`, i]));
  rejects['evil"\nvigil_events_stored_total 0\n'] = 1;
  const text = await new ControlPlaneMetrics(() =>
    source([heartbeat('h', { counters: { ...heartbeat('h').counters, rejects } })]),
  ).text();
  const lines = text.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('vigil_sensor_rejects_total{')).length, 64);
  assert.equal(
    lines.filter((l) => l.startsWith('vigil_events_stored_total ')).length,
    1,
    'no series injected by a label value',
  );
  assert.ok(
    lines.some((l) => l.includes('reason="evil\\"\\nvigil_events_stored_total 0\\n"')),
    'quote and newlines escaped',
  );
});

test("each output's counts come out labelled with its name and type", async () => {
  const s = source([]);
  s.controlPlane.outputs = [
    {
      name: 'soar',
      type: 'webhook',
      sent: 7,
      failed: 3,
      retrying: 1,
      deadLettered: 2,
      skipped: 4,
      lastError: 'HTTP 500',
    },
  ];
  const text = await new ControlPlaneMetrics(() => s).text();
  assert.equal(sample(text, 'vigil_output_sent_total{output="soar",type="webhook"}'), 7);
  assert.equal(sample(text, 'vigil_output_failed_total{output="soar",type="webhook"}'), 3);
  assert.equal(sample(text, 'vigil_output_retrying{output="soar",type="webhook"}'), 1);
  assert.equal(sample(text, 'vigil_output_dead_lettered_total{output="soar",type="webhook"}'), 2);
  assert.equal(sample(text, 'vigil_output_skipped_total{output="soar",type="webhook"}'), 4);
});
