import type { ServerInfo } from 'nats';

/** Replicas of each stream on a JetStream cluster of at least this many servers (R3: survives one loss). */
export const CLUSTER_REPLICAS = 3;

/** How many replicas the streams get, and why (said at start). */
export interface StreamReplicas {
  replicas: number;
  why: string;
}

/**
 * The streams' replica count from what the connected server says of itself: R3 in a cluster of three
 * servers or more (the client URLs the cluster gossips, its own among them), R1 otherwise. A cluster
 * still forming (fewer URLs gossiped yet) gets R1 now and R3 at the next start (see ensureStreams).
 */
export function streamReplicas(info: ServerInfo | undefined): StreamReplicas {
  if (!info?.cluster) return { replicas: 1, why: 'a single nats-server (no cluster)' };
  const servers = new Set(info.connect_urls ?? []).size;
  if (servers >= CLUSTER_REPLICAS)
    return { replicas: CLUSTER_REPLICAS, why: `cluster ${info.cluster} of ${servers} servers` };
  return {
    replicas: 1,
    why: `cluster ${info.cluster} reports ${servers} server(s), fewer than ${CLUSTER_REPLICAS} (no_advertise, or still forming)`,
  };
}
