import type { Logger } from 'pino';
import type { EventV1 } from '@vigil/schema';
import { parseBpftraceLine, BpftraceLineError, type BpftraceLine } from '../decode/bpftrace-output.js';
import { isReadyRecord, isWakeRecord } from '../decode/records.js';
import { PROBES, PROBE_NAMES, HOLD_MS, type ProbeName } from '../probes/registry.js';
import type { ProbeSupervisor } from '../probes/supervisor.js';
import type { Counters } from '../counters.js';
import type { StageLatency } from '../latency.js';
import { windowRecord, type DecodedRecord, type EventBuilder } from './event-builder.js';
import { WindowCollector } from './window.js';
import { BatchCollector, BatchMerger } from './batch.js';
import type { KtimeClock } from './clock.js';

/**
 * Each probe's latency stages (see HeartbeatV1's `latency`), named once so that observing a record
 * builds no string. `tick` is a batching probe's flip (the time its end-of-flush record carries) to
 * the sensor reading that record.
 */
const STAGES = Object.fromEntries(
  PROBE_NAMES.map((n) => [n, { read: `${n}.read`, tick: `${n}.tick`, built: `${n}.built` }]),
) as Record<ProbeName, { read: string; tick: string; built: string }>;
/**
 * The records whose latency is observed, by type, with their probe: one per exec, fork, exit, first
 * connect or first GPU call; a failed exec counts by its return record. Window and end-of-flush
 * records are not observed.
 */
const OBSERVED = new Map<DecodedRecord['type'], ProbeName>([
  ['exec.done', 'exec'],
  ['exec.return', 'exec'],
  ['proc.fork', 'proc'],
  ['proc.exit', 'proc'],
  ['connect.first', 'connect'],
  ['gpu.first', 'gpu'],
  ['dns.message', 'dns'],
  ['tcp.first', 'tcp'],
]);

type WindowedProbe = 'connect' | 'gpu' | 'tcp';
const WINDOW_TYPES = { connect: 'connect.window', gpu: 'gpu.window', tcp: 'tcp.window' } as const;

/** The probe owning each value record type (field 0). */
const OWNERS = new Map<number, ProbeName>(
  PROBE_NAMES.flatMap((n) => PROBES[n].recordTypes.map((t) => [t, n] as const)),
);

/** The probe whose window or batch maps are named `@<prefix>_…`. */
function mapOwner(mapName: string): ProbeName | undefined {
  return PROBE_NAMES.find((n) => {
    const p = PROBES[n];
    const prefix = 'window' in p ? p.window : 'batch' in p ? p.batch.prefix : n;
    return mapName.startsWith(`@${prefix}_`);
  });
}

export interface RouterDeps {
  builder: EventBuilder;
  clock: KtimeClock;
  counters: Counters;
  latency: StageLatency;
  log: Logger;
  /** The probes' supervisors: a batching probe holds the others' records back only while it runs. */
  supervisors: ReadonlyMap<ProbeName, ProbeSupervisor>;
  emit: (events: EventV1[]) => void;
}

/**
 * Routes bpftrace's output lines to their probe's decoder, puts the records of all probes back in
 * kernel-time order, and hands them to the event builder.
 *
 * Records of the probes that buffer in maps are merged across probes. A probe prints what was
 * written within a flush and a tick; an idle one prints its end-of-flush record once a second, or
 * within two ticks when another probe has printed something since (the composed script's
 * *_mark_wanted flags, see exec.bt). A record waits for the watermark or HOLD_MS, whichever comes
 * first; with --separate-probes nobody asks, and the hold is what lets it go.
 */
export class RecordRouter {
  private readonly windows = new Map<ProbeName, WindowCollector>();
  private readonly batches = new Map<ProbeName, BatchCollector>();
  private readonly merger: BatchMerger<DecodedRecord>;
  private holdTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: RouterDeps) {
    for (const name of PROBE_NAMES) {
      const p = PROBES[name];
      // A probe that prints at once (dns) has neither: its records are held like a connect's, and
      // the watermark waits only for the probes that flush. A windowed probe (connect, gpu, tcp)
      // prints its first sightings at once too: its windows are held like them, never awaited.
      if ('window' in p)
        this.windows.set(name, new WindowCollector(p.window, 'windowExtras' in p ? p.windowExtras : []));
      else if ('batch' in p) this.batches.set(name, new BatchCollector());
    }
    this.merger = new BatchMerger<DecodedRecord>(
      () => [...this.batches.keys()].filter((n) => d.supervisors.get(n)?.state.state === 'running'),
      HOLD_MS,
    );
  }

  /** Records released by the hold timer rather than by every batching probe's watermark. */
  get heldToTimeout(): number {
    return this.merger.heldToTimeout;
  }

  /**
   * The stdout handler of one bpftrace process running `names` (one probe, or several composed):
   * value records go to the probe owning their record type, maps to the probe owning their prefix.
   */
  lineHandler(label: string, names: readonly ProbeName[], sup: () => ProbeSupervisor): (line: string) => void {
    const { counters, log } = this.d;
    return (line) => {
      counters.recordsRead++;
      let out: BpftraceLine;
      try {
        out = parseBpftraceLine(line);
      } catch (err) {
        counters.reject(`${label}.${err instanceof BpftraceLineError ? err.reason : 'line'}`);
        return;
      }
      if (out.type === 'value') {
        if (isReadyRecord(out.data)) {
          sup().markAttached();
          return;
        }
        if (isWakeRecord(out.data)) return;
        const owner = OWNERS.get((out.data as unknown[])[0] as number);
        if (!owner || !names.includes(owner)) {
          counters.reject(`${label}.unknown-record`);
          return;
        }
        this.guarded(owner, () => this.onValue(owner, out.data as unknown[], sup()));
      } else if (out.type === 'map') {
        const owner = mapOwner(Object.keys(out.data as object)[0] ?? '');
        if (!owner || !names.includes(owner)) {
          counters.reject(`${label}.unexpected-map`);
          return;
        }
        this.guarded(owner, () => this.onMaps(owner, out.data as Record<string, unknown>));
      } else if (out.type === 'lost_events') {
        const n = (out.data as { events: number }).events;
        counters.lostEvents += n;
        sup().state.lostEvents += n;
        log.warn({ 'probe.name': label, 'probe.lost': n }, 'bpftrace lost events');
      } else if (out.type !== 'attached_probes') {
        counters.reject(`${label}.unknown-type`);
      }
    };
  }

  /** Builds what is still held, whatever the watermarks (the probes have stopped). */
  drain(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.d.emit(this.d.builder.onRecords(this.merger.release(true)));
  }

  /** A record the builder cannot place must not take the sensor down. */
  private guarded(name: ProbeName, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.d.counters.reject(`${name}.build`);
      this.d.log.error({ 'probe.name': name, err }, 'event build failed');
    }
  }

  private onValue(name: ProbeName, data: unknown[], sup: ProbeSupervisor): void {
    const { counters, latency, clock } = this.d;
    const d = PROBES[name].decode(data);
    if (!d.success) {
      counters.reject(`${name}.schema`);
      return;
    }
    if (d.data.type === 'exec.flush' || d.data.type === 'proc.flush') {
      latency.observe(STAGES[name].tick, (clock.nowKtime() - d.data.ns) / 1e6);
      sup.markFlushed(clock.toWall(d.data.ns));
      this.endFlush(name, d.data.ns, sup);
    } else if (d.data.type === 'tcp.refused') {
      counters.lostEvents += d.data.n;
      sup.state.lostEvents += d.data.n;
      this.d.log.warn(
        { 'probe.name': name, 'probe.lost': d.data.n },
        'tcp sockets not followed (the socket map is full)',
      );
    } else {
      this.observeRead(name, [d.data]);
      this.build(this.merger.hold([d.data]));
    }
  }

  private onMaps(name: ProbeName, maps: Record<string, unknown>): void {
    const batch = this.batches.get(name);
    if (batch) {
      for (const [mapName, data] of Object.entries(maps)) {
        if (data && typeof data === 'object') batch.push(mapName, data as Record<string, unknown>);
        else this.d.counters.reject(`${name}.unexpected-map`);
      }
      return;
    }
    const w = this.windows.get(name);
    if (!w) {
      this.d.counters.reject(`${name}.unexpected-map`);
      return;
    }
    for (const [mapName, data] of Object.entries(maps as Record<string, Record<string, number>>)) {
      const entries = w.push(mapName, data);
      const r = entries && windowRecord(WINDOW_TYPES[name as WindowedProbe], entries);
      if (r) this.build(this.merger.hold([r]));
    }
  }

  /** The end of one flush of a probe that buffers in maps: its records, merged with the others'. */
  private endFlush(name: ProbeName, ns: number, sup: ProbeSupervisor): void {
    const { counters, log } = this.d;
    const p = PROBES[name];
    const c = this.batches.get(name);
    if (!c || !('batch' in p)) return;
    const res = p.batch.decode(c.end(), c.before);
    if (res.rejects > 0) counters.reject(`${name}.schema`, res.rejects);
    this.observeRead(name, res.records);
    if (res.lost > 0) {
      counters.lostEvents += res.lost;
      sup.state.lostEvents += res.lost;
      log.warn(
        { 'probe.name': name, 'probe.lost': res.lost },
        'probe entries lost (a full map, or a writer stalled past its print)',
      );
    }
    this.build(this.merger.add(name, res.records, ns));
  }

  private build(records: DecodedRecord[]): void {
    if (records.length > 0) {
      this.d.emit(this.d.builder.onRecords(records));
      const now = this.d.clock.nowKtime();
      for (const r of records) {
        const probe = OBSERVED.get(r.type);
        if (probe) this.d.latency.observe(STAGES[probe].built, (now - r.ns) / 1e6);
      }
    }
    this.armHold();
  }

  /** How long after the kernel wrote them records of `name` are read (windows left out: late by design). */
  private observeRead(name: ProbeName, records: readonly DecodedRecord[]): void {
    const now = this.d.clock.nowKtime();
    for (const r of records) if (OBSERVED.has(r.type)) this.d.latency.observe(STAGES[name].read, (now - r.ns) / 1e6);
  }

  private armHold(): void {
    if (this.holdTimer || this.merger.size === 0) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      this.build(this.merger.release());
    }, HOLD_MS);
    this.holdTimer.unref();
  }
}
