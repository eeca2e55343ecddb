import { z } from 'zod/v4';
import { Severity } from './alert.v1.js';
import { ResponseAction } from './response.v1.js';

/**
 * `vigil.yaml`: what an operator configures once for the control plane (`vigil up --config FILE`,
 * `vigil control-plane --config FILE`, or VIGIL_CONFIG). Relative paths are read relative to the
 * file's folder. Flags given on the command line win over the file.
 */

/** The part of a command line a suppression's pattern is tried on: the watched workload writes argv. */
export const CMDLINE_MATCH_CHARS = 4096;

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** The units of a duration as people write it ("500ms", "90s", "15m", "12h", "7d", "2w"), in milliseconds; the CLI's flags read the same units. */
export const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

/** A span of time in vigil.yaml: a whole number and a unit. */
export const DurationText = z
  .string()
  .regex(/^\d+(ms|s|m|h|d|w)$/, 'a duration such as "500ms", "90s", "15m", "12h", "7d" or "2w"');

/** A DurationText in milliseconds. */
export function durationToMs(text: string): number {
  const [, n, unit] = DurationText.parse(text).match(/^(\d+)(ms|s|m|h|d|w)$/)!;
  return Number(n) * DURATION_UNIT_MS[unit as DurationUnit];
}

/** Which alerts an output or a policy takes: at least this severity, and (when given) only these rules (globs, "tunnel.*"). */
const AlertSelector = {
  minSeverity: Severity.default('high'),
  rules: z.array(z.string().min(1)).optional(),
};

/** What an output sends: each incident as it is opened and updated, or each alert. */
const OutputStream = z.enum(['incidents', 'alerts']).default('incidents');

/**
 * `send: incidents`: a version waits until it is this old, and is not sent when a newer one came
 * meanwhile, so one attack's burst of updates makes one notification; an incident that keeps
 * changing is sent at least every six of these. "0s" sends every version at once.
 */
const IncidentSettle = { settle: DurationText.default('5s') };

const OutputName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, "_" and "-", at most 64 (one NATS consumer name)');

export const WebhookOutput = z
  .object({
    type: z.literal('webhook'),
    name: OutputName,
    url: z.url({ protocol: /^https?$/ }),
    send: OutputStream,
    ...IncidentSettle,
    ...AlertSelector,
    /** A file holding the HMAC-SHA256 key; each request carries `X-Vigil-Signature: sha256=<hex>` over its body. */
    secretFile: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Deliveries tried at most before the message goes to the dead-letter subject. */
    maxAttempts: z.number().int().min(1).max(100).default(8),
    timeout: DurationText.default('10s'),
  })
  .strict();

/** A Slack-compatible incoming webhook: a readable message, not Vigil's JSON. */
export const SlackOutput = z
  .object({
    type: z.literal('slack'),
    name: OutputName,
    url: z.url({ protocol: /^https?$/ }),
    send: OutputStream,
    ...IncidentSettle,
    ...AlertSelector,
    maxAttempts: z.number().int().min(1).max(100).default(8),
    timeout: DurationText.default('10s'),
  })
  .strict();

/** RFC 5424 syslog. */
export const SyslogOutput = z
  .object({
    type: z.literal('syslog'),
    name: OutputName,
    transport: z.enum(['udp', 'tcp', 'unix']),
    /** udp/tcp: host:port; unix: the socket's path (e.g. /dev/log). */
    address: z.string().min(1),
    facility: z
      .enum([
        'kern',
        'user',
        'daemon',
        'auth',
        'syslog',
        'authpriv',
        'local0',
        'local1',
        'local2',
        'local3',
        'local4',
        'local5',
        'local6',
        'local7',
      ])
      .default('authpriv'),
    appName: z
      .string()
      .regex(/^[!-~]{1,48}$/)
      .default('vigil'),
    send: OutputStream,
    ...IncidentSettle,
    ...AlertSelector,
    maxAttempts: z.number().int().min(1).max(100).default(8),
  })
  .strict();

/** JSON lines to a file, rotated by size. */
export const FileOutput = z
  .object({
    type: z.literal('file'),
    name: OutputName,
    path: z.string().min(1),
    send: OutputStream,
    ...IncidentSettle,
    ...AlertSelector,
    maxBytes: z
      .number()
      .int()
      .min(4096)
      .default(100 * 1024 * 1024),
    /** Rotated files kept beside it (path.1 … path.N). */
    keep: z.number().int().min(0).max(100).default(5),
  })
  .strict();

export type WebhookOutput = z.infer<typeof WebhookOutput>;
export type SlackOutput = z.infer<typeof SlackOutput>;
export type SyslogOutput = z.infer<typeof SyslogOutput>;
export type FileOutput = z.infer<typeof FileOutput>;

export const OutputConfig = z.discriminatedUnion('type', [WebhookOutput, SlackOutput, SyslogOutput, FileOutput]);
export type OutputConfig = z.infer<typeof OutputConfig>;

/**
 * A suppression (Falco's exception): alerts of `rule` (an id or a glob) that also match every
 * condition given are kept and counted as suppressed, not raised. At least one condition besides the
 * rule; a reason always; an expiry when it is meant to be temporary.
 */
export const Suppression = z
  .object({
    rule: z.string().min(1),
    reason: z.string().min(1).max(1000),
    /** ISO 8601 date or time; past it the suppression no longer applies. */
    expires: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
    hosts: z.array(z.string().min(1)).optional(),
    /** Globs of the process's executable path. */
    exe: z.array(z.string().min(1)).optional(),
    /** SHA-256 of the executable's content. */
    hash: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
    /** Globs of the scheduler job (ProcessV1.job). */
    job: z.array(z.string().min(1)).optional(),
    /** Globs of the cgroup path. */
    cgroup: z.array(z.string().min(1)).optional(),
    /** Uids, or user names resolved on the control plane's host. */
    user: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])).optional(),
    /**
     * A regular expression the command line (argv joined by spaces, its first CMDLINE_MATCH_CHARS
     * characters) must match; one that does not compile is refused at load.
     */
    cmdline: z
      .string()
      .min(1)
      .max(1000)
      .refine(compiles, { error: 'not a valid regular expression', abort: true })
      .optional(),
    /** The peer of the connection the alert is about: addresses or CIDRs, and ports. */
    destination: z
      .object({
        addr: z.array(z.string().min(1)).optional(),
        port: z.array(z.number().int().min(0).max(65535)).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (s) => [s.hosts, s.exe, s.hash, s.job, s.cgroup, s.user, s.cmdline, s.destination].some((c) => c !== undefined),
    'a suppression needs at least one condition besides its rule (hosts, exe, hash, job, cgroup, user, cmdline, destination)',
  );
export type Suppression = z.infer<typeof Suppression>;

/** An automatic response: alerts that match it order `action` on the alert's process. */
export const ResponsePolicy = z
  .object({
    name: OutputName,
    ...AlertSelector,
    hosts: z.array(z.string().min(1)).optional(),
    /** Globs of the scheduler job. */
    jobs: z.array(z.string().min(1)).optional(),
    action: z.union([ResponseAction, z.literal('notify')]),
  })
  .strict();
export type ResponsePolicy = z.infer<typeof ResponsePolicy>;

/**
 * TLS for what `vigil up` serves (nats-server and the API; `vigil control-plane`: the API): PEM files,
 * read at start. `clientAuth` requires a client certificate the CA signed (mutual TLS), so needs `ca`.
 */
export const TlsConfig = z
  .object({
    ca: z.string().min(1).optional(),
    cert: z.string().min(1),
    key: z.string().min(1),
    clientAuth: z.boolean().default(false),
  })
  .strict()
  .refine((t) => !t.clientAuth || t.ca !== undefined, {
    error: 'clientAuth needs ca: the CA that signs client certificates',
    path: ['ca'],
  });
export type TlsConfig = z.infer<typeof TlsConfig>;

export const VigilConfigV1 = z
  .object({
    /** The address nats-server and the API listen on (`vigil up --listen`); off loopback only with `tls`. */
    listen: z.string().min(1).optional(),
    tls: TlsConfig.optional(),
    /** The URL people open the control plane at; notifications link incidents under it. */
    publicUrl: z.url().optional(),
    outputs: z
      .array(OutputConfig)
      // The name is the output's durable consumer: two outputs of one name would share it.
      .refine((os) => new Set(os.map((o) => o.name)).size === os.length, 'each output needs a name of its own')
      .default([]),
    responses: z
      .object({
        /** `dry-run` records what each policy would do and kills nothing. */
        mode: z.enum(['enforce', 'dry-run']).default('dry-run'),
        policies: z.array(ResponsePolicy).default([]),
      })
      .strict()
      .default({ mode: 'dry-run', policies: [] }),
    gpu: z
      .object({
        expected: z
          .object({ exe: z.array(z.string()).default([]), cgroup: z.array(z.string()).default([]) })
          .strict()
          .default({ exe: [], cgroup: [] }),
      })
      .strict()
      .optional(),
    /** Folders or files of custom detections (TypeScript/JavaScript, Sigma YAML, SQL). */
    detections: z.array(z.string().min(1)).default([]),
    suppressions: z.array(Suppression).default([]),
    incidents: z
      .object({
        /** Alerts this far apart at most still join one incident. */
        window: DurationText.default('30m'),
      })
      .strict()
      .default({ window: '30m' }),
    retention: z
      .object({
        /** Stored events and alerts older than this are deleted (table TTL). */
        events: DurationText.optional(),
        alerts: DurationText.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type VigilConfigV1 = z.infer<typeof VigilConfigV1>;
export type VigilConfigInput = z.input<typeof VigilConfigV1>;

/** The environment variable naming the configuration file when no --config flag does. */
export const CONFIG_ENV = 'VIGIL_CONFIG';
