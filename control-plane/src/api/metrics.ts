import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { LATENCY_BOUNDS_MS, type DetectionsReport, type SensorStatus, type StatusReport } from '@vigil/schema';

/** What `/metrics` reads: the control plane's status (as `/api/v1/status` returns it) and its detections. */
export interface MetricsSource {
  controlPlane: Pick<
    StatusReport['controlPlane'],
    | 'stored'
    | 'rejects'
    | 'lostInStream'
    | 'retimed'
    | 'storageHealthy'
    | 'nats'
    | 'inserts'
    | 'heartbeatRejects'
    | 'heartbeats'
    | 'consumer'
    | 'alerts'
    | 'alertFollowers'
    | 'detectionState'
    | 'alertThrottle'
    | 'suppressed'
    | 'config'
    | 'outputs'
  >;
  sensors: Omit<SensorStatus, 'receivedTs'>[];
  detections: Pick<DetectionsReport['loaded'][number], 'id' | 'source' | 'fired' | 'errors'>[];
}

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels?: Labels;
  metricName?: string;
}
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: (s: MetricsSource) => Sample[];
}

/**
 * Keys a heartbeat names itself (reject reasons, latency stages) become label values: a forged
 * heartbeat could name thousands, so each host contributes at most this many per family.
 */
const MAX_KEYS_PER_HOST = 64;
const keysOf = <T>(r: Record<string, T> | undefined): [string, T][] =>
  Object.entries(r ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, MAX_KEYS_PER_HOST);

const one = (value: number, labels?: Labels): Sample[] => [labels ? { value, labels } : { value }];
const perSensor =
  (f: (hb: MetricsSource['sensors'][number]) => number | undefined) =>
  (s: MetricsSource): Sample[] =>
    s.sensors.flatMap((hb) => {
      const v = f(hb);
      return v === undefined ? [] : [{ value: v, labels: { host: hb.host } }];
    });

/**
 * A sensor's stage latencies as a Prometheus histogram: its buckets count the observations between
 * two bounds, Prometheus' count those at or under a bound.
 */
function latencySamples(hb: MetricsSource['sensors'][number]): Sample[] {
  const bounds = hb.latency?.boundsMs ?? LATENCY_BOUNDS_MS;
  // A sensor's bounds are LATENCY_BOUNDS_MS; bounds out of order or by the thousand (a forged
  // heartbeat) make no histogram, and would make a scrape of millions of lines.
  if (bounds.length > MAX_KEYS_PER_HOST || bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) return [];
  const out: Sample[] = [];
  for (const [stage, h] of keysOf(hb.latency?.stages)) {
    const labels = { host: hb.host, stage };
    let seen = 0;
    bounds.forEach((ms, i) => {
      seen += h.buckets[i] ?? 0;
      out.push({
        metricName: 'vigil_sensor_stage_latency_seconds_bucket',
        labels: { ...labels, le: ms / 1000 },
        value: seen,
      });
    });
    out.push({
      metricName: 'vigil_sensor_stage_latency_seconds_bucket',
      labels: { ...labels, le: '+Inf' },
      value: h.count,
    });
    out.push({ metricName: 'vigil_sensor_stage_latency_seconds_sum', labels, value: h.sumMs / 1000 });
    out.push({ metricName: 'vigil_sensor_stage_latency_seconds_count', labels, value: h.count });
  }
  return out;
}

/**
 * Every figure of the status, for Prometheus. Counts mirror the control plane's and each sensor's own
 * (a sensor's start from zero again when it restarts, which Prometheus reads as a counter reset).
 */
const FAMILIES = [
  {
    name: 'vigil_events_stored_total',
    help: 'Events stored in ClickHouse by this control plane.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.stored),
  },
  {
    name: 'vigil_event_inserts_total',
    help: 'Inserts into the events table that succeeded.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.inserts),
  },
  {
    name: 'vigil_events_rejected_total',
    help: 'Messages or events sent to the dead-letter stream, by reason.',
    type: 'counter',
    samples: (s) => keysOf(s.controlPlane.rejects).map(([reason, value]) => ({ value, labels: { reason } })),
  },
  {
    name: 'vigil_stream_lost_messages_total',
    help: 'Messages the event stream dropped (its limits) before this control plane consumed them.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.lostInStream),
  },
  {
    name: 'vigil_events_retimed_total',
    help: 'Events stored at their insert time: the time they claim lies outside what the table keeps.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.retimed),
  },
  {
    name: 'vigil_heartbeats_rejected_total',
    help: "Sensor heartbeats refused, by reason (malformed, another host's, replayed, past the hosts tracked).",
    type: 'counter',
    samples: (s) => keysOf(s.controlPlane.heartbeatRejects).map(([reason, value]) => ({ value, labels: { reason } })),
  },
  {
    name: 'vigil_heartbeat_hosts',
    help: 'Hosts whose heartbeats the control plane tracks (each one sensor series below).',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.heartbeats?.hosts ?? 0),
  },
  {
    name: 'vigil_heartbeat_hosts_max',
    help: 'Hosts tracked at most; heartbeats from more are refused.',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.heartbeats?.maxHosts ?? 0),
  },
  {
    name: 'vigil_heartbeats_stored_total',
    help: 'Heartbeats stored in ClickHouse.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.heartbeats?.stored ?? 0),
  },
  {
    name: 'vigil_heartbeat_inserts_total',
    help: 'Inserts that stored heartbeats (batched).',
    type: 'counter',
    samples: (s) => one(s.controlPlane.heartbeats?.inserts ?? 0),
  },
  {
    name: 'vigil_heartbeats_unstored_total',
    help: 'Heartbeats dropped unstored while storage refused them.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.heartbeats?.dropped ?? 0),
  },
  {
    name: 'vigil_ingest_consumer_healthy',
    help: '1 while the durable consumer ingestion reads is there.',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.consumer?.healthy === false ? 0 : 1),
  },
  {
    name: 'vigil_ingest_consumer_recreated_total',
    help: 'Times the durable consumer (or its stream) went missing and was made again.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.consumer?.recreated ?? 0),
  },
  {
    name: 'vigil_storage_healthy',
    help: '1 while storage accepts inserts.',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.storageHealthy ? 1 : 0),
  },
  {
    name: 'vigil_nats_connected',
    help: '1 while the control plane is connected to NATS.',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.nats === 'connected' ? 1 : 0),
  },
  {
    name: 'vigil_alerts_raised_total',
    help: 'Alerts raised by the detections.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.alerts?.raised ?? 0),
  },
  {
    name: 'vigil_alerts_stored_total',
    help: 'Alerts stored in ClickHouse.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.alerts?.stored ?? 0),
  },
  {
    name: 'vigil_alerts_published_total',
    help: 'Alerts published on NATS.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.alerts?.published ?? 0),
  },
  {
    name: 'vigil_alerts_suppressed_total',
    help: "Alerts a suppression of vigil.yaml held back (stored in suppressed_alerts, not raised), by the alert's rule.",
    type: 'counter',
    samples: (s) => keysOf(s.controlPlane.suppressed?.byRule).map(([rule, value]) => ({ value, labels: { rule } })),
  },
  {
    name: 'vigil_suppressions_expired',
    help: 'Suppressions of vigil.yaml past their expiry (no longer applied).',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.suppressed?.expired?.length ?? 0),
  },
  {
    name: 'vigil_config_reloads_total',
    help: 'Reloads of vigil.yaml that applied a new version.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.config?.reloads ?? 0),
  },
  {
    name: 'vigil_config_error',
    help: '1 while the last reload of vigil.yaml failed (the previous version stays in force).',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.config?.lastError ? 1 : 0),
  },
  {
    name: 'vigil_alerts_dropped_total',
    help: 'Alerts dropped because the alert queue was full.',
    type: 'counter',
    samples: (s) => one(s.controlPlane.alerts?.dropped ?? 0),
  },
  {
    name: 'vigil_alert_followers',
    help: 'Clients following the live alert stream.',
    type: 'gauge',
    samples: (s) => one(s.controlPlane.alertFollowers),
  },
  {
    name: 'vigil_alerts_grouped_total',
    help: 'Findings folded into one alert: past the first few processes of a command shape (storms), or past a rule rate cap on a host.',
    type: 'counter',
    samples: (s) => {
      const t = s.controlPlane.alertThrottle;
      return t
        ? [
            { value: t.groupedByShape, labels: { by: 'command-shape' } },
            { value: t.overRateCap, labels: { by: 'rate-cap' } },
          ]
        : [];
    },
  },
  ...(
    [
      ['sent', 'vigil_output_sent_total', 'counter', 'Messages an output delivered (its receiver took them).'],
      [
        'failed',
        'vigil_output_failed_total',
        'counter',
        'Delivery attempts of an output that failed (each retry counts).',
      ],
      ['retrying', 'vigil_output_retrying', 'gauge', 'Messages of an output waiting for their next attempt.'],
      [
        'deadLettered',
        'vigil_output_dead_lettered_total',
        'counter',
        'Messages an output gave up on after maxAttempts (on vigil.deadletter.output.<name>).',
      ],
      [
        'skipped',
        'vigil_output_skipped_total',
        'counter',
        'Messages an output did not send: below its minSeverity or outside its rules.',
      ],
    ] as const
  ).map(([key, name, type, help]) => ({
    name,
    help,
    type,
    samples: (s: MetricsSource) =>
      (s.controlPlane.outputs ?? []).map((o) => ({ value: o[key] ?? 0, labels: { output: o.name, type: o.type } })),
  })),
  {
    name: 'vigil_detection_fired_total',
    help: 'Alerts raised, by detection.',
    type: 'counter',
    samples: (s) => s.detections.map((d) => ({ value: d.fired, labels: { detection: d.id, source: d.source } })),
  },
  {
    name: 'vigil_detection_errors_total',
    help: 'Errors thrown by a detection (the event goes on to the others).',
    type: 'counter',
    samples: (s) => s.detections.map((d) => ({ value: d.errors, labels: { detection: d.id, source: d.source } })),
  },
  {
    name: 'vigil_detection_state_bytes',
    help: 'Estimated bytes the detection engine holds per process (histories, what each started, flags).',
    type: 'gauge',
    samples: (s) => (s.controlPlane.detectionState ? one(s.controlPlane.detectionState.bytes) : []),
  },
  {
    name: 'vigil_detection_state_budget_bytes',
    help: "The byte budget of the detection engine's per-process state.",
    type: 'gauge',
    samples: (s) => (s.controlPlane.detectionState ? one(s.controlPlane.detectionState.budgetBytes) : []),
  },
  {
    name: 'vigil_detection_state_processes',
    help: 'Processes the detection engine holds state for.',
    type: 'gauge',
    samples: (s) => (s.controlPlane.detectionState ? one(s.controlPlane.detectionState.processes) : []),
  },
  {
    name: 'vigil_detection_state_released_total',
    help: 'Processes whose detection state was let go, by reason: exited (after a grace), aged (idle), bytes or processes (evicted over a bound).',
    type: 'counter',
    samples: (s) => {
      const st = s.controlPlane.detectionState;
      return st
        ? [...Object.entries(st.released), ...Object.entries(st.evicted)].map(([reason, value]) => ({
            value,
            labels: { reason },
          }))
        : [];
    },
  },
  {
    name: 'vigil_detection_state_events_over_share_total',
    help: 'Events the detection engine did not keep, or dropped early, because one process held more than its share of the budget.',
    type: 'counter',
    samples: (s) => (s.controlPlane.detectionState ? one(s.controlPlane.detectionState.eventsOverShare) : []),
  },
  {
    name: 'vigil_sensor_up',
    help: '1 while a sensor heartbeats; 0 once it is silent or stopped.',
    type: 'gauge',
    samples: perSensor((hb) => (hb.silent || hb.stopped ? 0 : 1)),
  },
  {
    name: 'vigil_sensor_heartbeat_age_seconds',
    help: "Since the last heartbeat of a sensor arrived, by this control plane's clock.",
    type: 'gauge',
    samples: perSensor((hb) => hb.ageSeconds),
  },
  {
    name: 'vigil_sensor_clock_skew_seconds',
    help: "How far a sensor host's clock runs ahead of the control plane's (negative: behind).",
    type: 'gauge',
    samples: perSensor((hb) => hb.clockSkewSeconds),
  },
  {
    name: 'vigil_sensor_records_read_total',
    help: 'Probe records a sensor read from bpftrace.',
    type: 'counter',
    samples: perSensor((hb) => hb.counters.recordsRead),
  },
  {
    name: 'vigil_sensor_events_published_total',
    help: 'Events a sensor published and JetStream acknowledged.',
    type: 'counter',
    samples: perSensor((hb) => hb.counters.eventsPublished),
  },
  {
    name: 'vigil_sensor_events_dropped_total',
    help: 'Events a sensor dropped (memory queue and spool full, oversized, unsent at stop).',
    type: 'counter',
    samples: perSensor((hb) => hb.counters.eventsDropped),
  },
  {
    name: 'vigil_sensor_lost_events_total',
    help: 'Records the kernel or bpftrace lost before a sensor read them.',
    type: 'counter',
    samples: perSensor((hb) => hb.counters.lostEvents),
  },
  {
    name: 'vigil_sensor_rejects_total',
    help: 'Input a sensor refused, by reason.',
    type: 'counter',
    samples: (s) =>
      s.sensors.flatMap((hb) =>
        keysOf(hb.counters.rejects).map(([reason, value]) => ({ value, labels: { host: hb.host, reason } })),
      ),
  },
  {
    name: 'vigil_sensor_queue_events',
    help: "Events waiting in a sensor's memory to be published.",
    type: 'gauge',
    samples: perSensor((hb) => hb.counters.queueDepth),
  },
  {
    name: 'vigil_sensor_spool_bytes',
    help: 'Bytes of events a sensor holds on disk while NATS is away.',
    type: 'gauge',
    samples: perSensor((hb) => hb.counters.spoolBytes),
  },
  {
    name: 'vigil_sensor_spool_events',
    help: 'Events a sensor holds on disk while NATS is away.',
    type: 'gauge',
    samples: perSensor((hb) => hb.counters.spoolEvents),
  },
  {
    name: 'vigil_sensor_process_cache_entries',
    help: "Processes in a sensor's process table.",
    type: 'gauge',
    samples: perSensor((hb) => hb.counters.processCacheSize),
  },
  {
    name: 'vigil_sensor_held_to_timeout_total',
    help: 'Records a sensor sent on when its longest hold ran out.',
    type: 'counter',
    samples: perSensor((hb) => hb.counters.heldToTimeout),
  },
  {
    name: 'vigil_sensor_resident_bytes',
    help: "A sensor's resident memory: its node process, and its bpftrace processes.",
    type: 'gauge',
    samples: (s) =>
      s.sensors.flatMap((hb) =>
        hb.footprint
          ? [
              { value: hb.footprint.processRssBytes, labels: { host: hb.host, part: 'process' } },
              { value: hb.footprint.probeRssBytes, labels: { host: hb.host, part: 'probes' } },
            ]
          : [],
      ),
  },
  {
    name: 'vigil_sensor_cpu_seconds_total',
    help: 'CPU a sensor used since it started: its process, and its bpftrace processes (exited ones too).',
    type: 'counter',
    samples: (s) =>
      s.sensors.flatMap(({ host, footprint: f }) => [
        ...(f?.processCpuSeconds !== undefined
          ? [{ value: f.processCpuSeconds, labels: { host, part: 'process' } }]
          : []),
        ...(f?.probeCpuSeconds !== undefined ? [{ value: f.probeCpuSeconds, labels: { host, part: 'probes' } }] : []),
      ]),
  },
  {
    name: 'vigil_sensor_probe_running',
    help: "1 while a sensor's probe runs.",
    type: 'gauge',
    samples: (s) =>
      s.sensors.flatMap((hb) =>
        hb.probes.map((p) => ({
          value: p.state === 'running' ? 1 : 0,
          labels: { host: hb.host, probe: p.name, state: p.state },
        })),
      ),
  },
  {
    name: 'vigil_sensor_probe_restarts_total',
    help: "Restarts of a sensor's probe after it exited unplanned.",
    type: 'counter',
    samples: (s) =>
      s.sensors.flatMap((hb) =>
        hb.probes.map((p) => ({ value: p.restarts, labels: { host: hb.host, probe: p.name } })),
      ),
  },
  {
    name: 'vigil_sensor_probe_lost_events_total',
    help: "Records the kernel lost for one of a sensor's probes.",
    type: 'counter',
    samples: (s) =>
      s.sensors.flatMap((hb) =>
        hb.probes.map((p) => ({ value: p.lostEvents, labels: { host: hb.host, probe: p.name } })),
      ),
  },
  {
    name: 'vigil_sensor_stage_latency_seconds',
    help: "Where an event's time goes inside a sensor, by stage (see HeartbeatV1 latency).",
    type: 'histogram',
    samples: (s) => s.sensors.flatMap(latencySamples),
  },
] satisfies Family[];

/**
 * The control plane's metrics in Prometheus' text format: the figures of `/api/v1/status` per scrape,
 * and this process's own (CPU, memory, event loop, GC) as prom-client collects them.
 */
export class ControlPlaneMetrics {
  /** Made at the first scrape: a control plane nobody scrapes watches neither its GC nor its event loop. */
  private processRegistry: Registry | null = null;

  constructor(private readonly source: () => MetricsSource | Promise<MetricsSource>) {}

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  async text(): Promise<string> {
    const snapshot = await this.source();
    const registry = new Registry();
    for (const f of FAMILIES) {
      const values = f.samples(snapshot);
      // prom-client's metric classes hold values of their own (inc, set, observe); these mirror values
      // kept elsewhere, histograms already bucketed by the sensors, so each is a plain object with the
      // get() the registry reads to render a metric.
      const mirror = {
        name: f.name,
        get: () => ({ name: f.name, help: f.help, type: f.type, values, aggregator: 'sum' }),
      };
      registry.registerMetric(mirror as unknown as Metric);
    }
    if (!this.processRegistry) {
      this.processRegistry = new Registry();
      collectDefaultMetrics({ register: this.processRegistry });
    }
    return Registry.merge([registry, this.processRegistry]).metrics();
  }
}
