import type { HeartbeatV1 } from '@vigil/schema';
import type { ReceivedHeartbeat } from '../../../ingest/heartbeats.js';

/**
 * A heartbeat of `host` received at `ms` (the control plane's clock), claiming `claimedMs` (the
 * sensor's; the same unless given), for the sensor-health tests. `extra.probes` may be any shape:
 * tests hand it forged or partial probe states on purpose.
 */
export const received = (
  host: string,
  ms: number,
  extra: Omit<Partial<HeartbeatV1>, 'probes'> & { probes?: object[] } = {},
  claimedMs = ms,
): ReceivedHeartbeat => ({
  heartbeat: {
    v: 1,
    host,
    ts: (BigInt(claimedMs) * 1_000_000n).toString(),
    sensorVersion: 't',
    startedTs: '7',
    counters: {
      recordsRead: 0,
      eventsPublished: 3,
      eventsDropped: 0,
      lostEvents: 0,
      rejects: {},
      queueDepth: 0,
      processCacheSize: 0,
    },
    ...extra,
    probes: (extra.probes ?? []) as HeartbeatV1['probes'],
  },
  receivedMs: ms,
});
