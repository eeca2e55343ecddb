/**
 * The behaviour corpus as data: attacks.json and benign.json beside this file. A scenario names its
 * class, whether it is an attack (and the rules, any one of which counts as detected) or benign work
 * (which may raise nothing at high or critical), the files to write and the commands to run as real
 * processes. Strings may hold {placeholders}, filled in by the runner (see README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v4';
import { REPO } from '../support/harness.js';

export const CORPUS_DIR = join(REPO, 'test', 'corpus');
export const FIXTURES_DIR = join(CORPUS_DIR, 'fixtures');

const Argv = z.array(z.string()).min(1);

export const Step = z.union([
  Argv,
  z.object({
    argv: Argv,
    cwd: z.string().optional(),
    /** Left running until the scenario's last foreground step ends, then killed. */
    background: z.boolean().optional(),
    /** Before the next step: wait until this loopback port accepts (a server started). */
    waitPort: z.string().optional(),
  }),
]);
export type Step = z.infer<typeof Step>;

export const ScenarioFile = z.object({
  path: z.string(),
  content: z.string().optional(),
  /** A file of assets/ instead of content. */
  asset: z.string().optional(),
  /** Prefix `#!{python}`: the asset runs as an executable script. */
  interpreter: z.boolean().optional(),
  /** Octal, e.g. "755". */
  mode: z
    .string()
    .regex(/^[0-7]{3}$/)
    .optional(),
});

export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    class: z.string().regex(/^[a-z0-9-]+$/),
    kind: z.enum(['attack', 'benign']),
    /** Attacks: rule ids, any one of which (at any severity) counts as detected. */
    expect: z.array(z.string()).min(1).optional(),
    /** Commands that must be installed for the scenario to run (perl, ruby, php…). */
    requires: z.array(z.string()).optional(),
    /** Run the steps as the corpus's own unprivileged user, whose home is {userHome}. */
    user: z.boolean().optional(),
    env: z.record(z.string(), z.string()).optional(),
    files: z.array(ScenarioFile).optional(),
    /** Run before the scenario and not attributed to it (a process whose pid is then reused). */
    prelude: z.array(Step).optional(),
    steps: z.array(Step).min(1),
    /** Run after the scenario and not attributed to it (removing what it installed outside {dir}). */
    cleanup: z.array(Step).optional(),
    /** It stops or kills the sensor's bpftrace: the runner waits for the probes to run again. */
    disturbsSensor: z.boolean().optional(),
  })
  .refine((s) => (s.kind === 'attack') === (s.expect !== undefined), 'attacks (and only attacks) name expected rules');
export type Scenario = z.infer<typeof Scenario>;

const CorpusFile = z.object({ $comment: z.string().optional(), scenarios: z.array(Scenario) });

/** Every scenario, attacks first; names are unique (they name the fixtures). */
export function loadCorpus(): Scenario[] {
  const all = ['attacks.json', 'benign.json'].flatMap(
    (f) => CorpusFile.parse(JSON.parse(readFileSync(join(CORPUS_DIR, f), 'utf8'))).scenarios,
  );
  const seen = new Set<string>();
  for (const s of all) {
    if (seen.has(s.name)) throw new Error(`corpus: scenario ${s.name} is defined twice`);
    seen.add(s.name);
  }
  return all;
}

/**
 * Fills {name} placeholders; an unknown one is an error (a typo would otherwise run as text).
 * Shell braces such as `{echo,x}` are not placeholders: only `{identifier}` is.
 */
export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (whole, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`corpus: unknown placeholder ${whole} in ${JSON.stringify(text)}`);
    return v;
  });
}

export const stepOf = (s: Step) => (Array.isArray(s) ? { argv: s } : s);
