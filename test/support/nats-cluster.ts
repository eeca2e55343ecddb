/**
 * Three real nats-servers as one JetStream cluster on loopback, run from deploy/nats-cluster's own
 * configuration file (each server's ports, name and store from its environment, as deployed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, REPO, waitFor } from './harness.js';

export interface ClusterNode {
  name: string;
  url: string;
  monitor: string;
  child: ChildProcess;
  /** The last of what it wrote to stderr, for failure messages. */
  log: () => string;
}

export interface NatsCluster {
  nodes: ClusterNode[];
  urls: string[];
  /** Kills one server at once (SIGKILL): no clean hand-over of its leaderships. */
  kill: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

const CONF = join(REPO, 'deploy', 'nats-cluster', 'nats-cluster.conf');

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once('exit', () => r()));

/** Starts the three and resolves once each has its two routes and the cluster has a JetStream meta leader. */
export async function startNatsCluster(dir: string): Promise<NatsCluster> {
  const ports = await Promise.all(
    [0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })),
  );
  const routes = Object.fromEntries(ports.map((p, i) => [`NATS_ROUTE_${i + 1}`, `nats://127.0.0.1:${p.route}`]));
  const nodes: ClusterNode[] = ports.map((p, i) => {
    const name = `nats-${i}`;
    const child = spawn('nats-server', ['-c', CONF], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        ...routes,
        NATS_HOST: '127.0.0.1',
        NATS_SERVER_NAME: name,
        NATS_STORE_DIR: join(dir, name),
        NATS_CLIENT_PORT: String(p.client),
        NATS_CLUSTER_PORT: String(p.route),
        NATS_MONITOR_PORT: String(p.monitor),
      },
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    return {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitor: `http://127.0.0.1:${p.monitor}`,
      child,
      log: () => err,
    };
  });
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    kill: async (name) => {
      const n = nodes.find((x) => x.name === name)!;
      n.child.kill('SIGKILL');
      await exited(n.child);
    },
    stop: async () => {
      for (const n of nodes) n.child.kill('SIGTERM');
      await Promise.all(nodes.map((n) => exited(n.child)));
    },
  };
  try {
    await waitFor(
      'three routed servers and a JetStream meta leader',
      async () => {
        for (const n of nodes) {
          const routez = (await (await fetch(`${n.monitor}/routez`)).json()) as { num_routes: number };
          const jsz = (await (await fetch(`${n.monitor}/jsz`)).json()) as {
            meta_cluster?: { leader?: string; cluster_size?: number };
          };
          if (routez.num_routes < 2 || !jsz.meta_cluster?.leader || jsz.meta_cluster.cluster_size !== 3) return false;
        }
        return true;
      },
      30_000,
    );
  } catch (err) {
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${nodes.map((n) => `${n.name}: ${n.log()}`).join('\n')}`);
  }
  return cluster;
}
