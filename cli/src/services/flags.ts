import { Flags } from '@oclif/core';
import {
  CONFIG_ENV,
  DEFAULT_ANCESTRY_DEPTH,
  DEFAULT_API_URL,
  DEFAULT_SPOOL_MAX_MB,
  DEFAULT_WINDOW_SECONDS,
} from '@vigil/schema';
import { PROBE_NAMES } from '@vigil/sensor/probe-names';
import type { QueryLimits } from '@vigil/control-plane';
import { hostIdFlag } from './host-id.js';

export const apiFlag = Flags.string({ description: `Vigil API URL (default $VIGIL_API or ${DEFAULT_API_URL})` });

/** HTTPS to the API: the CA to trust (`vigil certs`' ca.pem), and a client certificate where it requires one. */
export const apiTlsFlags = {
  ca: Flags.string({ description: "CA certificate (PEM) that signed the API's certificate", env: 'VIGIL_CA' }),
  'client-cert': Flags.string({
    description: 'client certificate (PEM) for an API that requires one (mutual TLS)',
    env: 'VIGIL_CLIENT_CERT',
  }),
  'client-key': Flags.string({ description: "the client certificate's key (PEM)", env: 'VIGIL_CLIENT_KEY' }),
};

export const sensorFlags = {
  'host-id': hostIdFlag,
  'gpu-device': Flags.string({
    description: 'extra device node to treat as a GPU, PATH[=nvidia|nvidia-uvm|amdkfd|drm] (repeatable, at most 4)',
    multiple: true,
    default: [],
  }),
  'window-seconds': Flags.integer({
    description: 'aggregation window of the connect, GPU and tcp probes',
    default: DEFAULT_WINDOW_SECONDS,
    min: 1,
    max: 60,
  }),
  probe: Flags.string({
    description: 'run only these probes (repeatable; by default all but dns, which is asked for by name)',
    multiple: true,
    options: [...PROBE_NAMES],
  }),
  'separate-probes': Flags.boolean({
    description:
      'one bpftrace process per probe instead of one for all (about 100 MiB more each: the compiler pages they share cannot be released; a failing probe never stops the others)',
    default: false,
  }),
  'spool-max-mb': Flags.integer({
    description: 'disk kept for events while NATS is unreachable',
    default: DEFAULT_SPOOL_MAX_MB,
    min: 1,
  }),
  'ancestry-depth': Flags.integer({
    description:
      'ancestors each event carries, nearest first (each with its argv); detections that walk the chain see only this far',
    default: DEFAULT_ANCESTRY_DEPTH,
    min: 0,
    max: 64,
  }),
};

export const storageFlags = {
  'store-linger-ms': Flags.integer({
    description:
      'longest an event waits for others before it is stored (fewer, larger inserts; detections do not wait)',
    default: 250,
    min: 0,
    max: 10_000,
  }),
  'stream-max-mb': Flags.integer({
    description:
      "MiB of events the NATS stream keeps unconsumed (the buffer while storage is away); resizes an existing stream [default: a quarter of the data directory's free space, 64 MiB to 8 GiB]",
    min: 1,
  }),
  // No defaults here: the control plane's own (USER_QUERY_LIMITS) apply when a flag is left out.
  'query-timeout-seconds': Flags.integer({
    description: 'longest a user query (vigil query, a SQL detection) may run [default: 30]',
    min: 1,
    max: 3600,
  }),
  'query-memory-mb': Flags.integer({
    description: "memory a user query may use [default: 2048, or an eighth of the host's memory if less]",
    min: 64,
  }),
  'query-threads': Flags.integer({
    description: 'threads a user query may use; 0: every core [default: all cores but one, left to storing events]',
    min: 0,
    max: 256,
  }),
};

/** The storage flags' user-query bounds, those given only. */
export function queryLimits(flags: {
  'query-timeout-seconds'?: number;
  'query-memory-mb'?: number;
  'query-threads'?: number;
}): Partial<QueryLimits> {
  return {
    ...(flags['query-timeout-seconds'] !== undefined ? { maxSeconds: flags['query-timeout-seconds'] } : {}),
    ...(flags['query-memory-mb'] !== undefined ? { maxMemoryBytes: flags['query-memory-mb'] * 1024 * 1024 } : {}),
    ...(flags['query-threads'] !== undefined ? { maxThreads: flags['query-threads'] } : {}),
  };
}

export const detectionFlags = {
  detections: Flags.string({
    description:
      'folder or file of custom detections (TypeScript/JavaScript, Sigma .yml, .sql); repeatable; reloaded on change',
    multiple: true,
  }),
  'gpu-expected': Flags.string({
    description: 'glob of executables (or cgroup:GLOB) expected to use GPUs, beyond installed software; repeatable',
    multiple: true,
  }),
};

/** --gpu-expected values → the engine's expectation (cgroup:GLOB for cgroup paths). */
export function expectedGpu(values: string[] | undefined): { exe: string[]; cgroup: string[] } {
  const v = values ?? [];
  return {
    exe: v.filter((x) => !x.startsWith('cgroup:')),
    cgroup: v.filter((x) => x.startsWith('cgroup:')).map((x) => x.slice(7)),
  };
}

export const configFileFlags = {
  config: Flags.string({
    description: `vigil.yaml: outputs, responses, suppressions, expected GPU users, detections (default $${CONFIG_ENV}); reloaded on change and on SIGHUP; flags win over it`,
  }),
};

export const apiServeFlags = {
  'api-allowed-host': Flags.string({
    description:
      'a host name clients reach the API by, beyond loopback names and IP literals (repeatable): requests naming any other Host are refused (DNS rebinding)',
    multiple: true,
  }),
};
