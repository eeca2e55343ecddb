import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { z } from 'zod/v4';
import { EVENT_KINDS, SEVERITIES } from '@vigil/schema';
import type { AnyDetection } from '../define.js';
import type { LoadedDetection } from '../engine.js';
import { compileSigma } from '../sigma/compile.js';
import { parseSigma, SigmaError } from '../sigma/rule.js';
import { parseSqlDetection, type SqlDetection } from './sql.js';
import { DetectionFileError, diagnosticLines, errorsReason } from './typecheck.js';

export interface LoadProblem {
  path: string;
  reason: string;
  /** The file is valid but asks for something Vigil cannot evaluate (e.g. a Sigma field it lacks). */
  unsupported: boolean;
  /** Each error found in the file (syntax, type or SQL), one an entry; `reason` counts them and names the first. */
  details?: string[];
}

/** A detection a folder's disabled list turns off: it loads, and is left out. */
export interface DisabledDetection {
  id: string;
  path: string;
  /** The comment on its line in the list (why it is off). */
  why: string;
  list: string;
}

export interface LoadReport {
  detections: LoadedDetection[];
  sql: SqlDetection[];
  problems: LoadProblem[];
  disabled: DisabledDetection[];
}

/**
 * A folder's list of detections that are off by default (vendored rules that fire on ordinary work,
 * whose files stay as their authors wrote them): one detection id a line, `# why` after it. Naming a
 * rule's file directly loads it regardless.
 */
export const DISABLED_LIST = 'disabled.txt';

/** The ids a folder's disabled list names, with the reason on each line. */
export function readDisabledList(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(join(folder, DISABLED_LIST), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const [id, ...why] = line.split('#');
    const key = id!.trim();
    if (key) out.set(key, why.join('#').trim());
  }
  return out;
}

/** The shape a module's default export must have. */
const DetectionShape = z.object({
  id: z.string().regex(/^[A-Za-z0-9][\w.:-]*$/, 'letters, digits and . _ : -'),
  title: z.string().min(1),
  severity: z.enum(SEVERITIES),
  mitre: z.array(z.string()).default([]),
  on: z.array(z.enum(EVENT_KINDS)).min(1),
  match: z.custom<(...args: never[]) => unknown>(
    (v) => typeof v === 'function',
    'a function (event, context) => finding | null',
  ),
  author: z.string().optional(),
  description: z.string().optional(),
});

/**
 * Transpiled modules live inside this package so that `@vigil/control-plane/detect` resolves from
 * them wherever the user's file is.
 */
const CACHE_DIR = fileURLToPath(new URL('../../../.detections-cache/', import.meta.url));

async function loadModule(path: string): Promise<AnyDetection> {
  const source = readFileSync(path, 'utf8');
  let js = source;
  if (/\.m?ts$/.test(path)) {
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: path,
      reportDiagnostics: true,
    });
    // The transpiler emits code even for source it could not parse (it repairs what it can): such a
    // file would run as something other than what was written.
    const errors = diagnosticLines(out.diagnostics ?? []);
    if (errors.length > 0) throw new DetectionFileError(errorsReason(errors, 'syntax'), errors);
    js = out.outputText;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, `${createHash('sha256').update(path).update(js).digest('hex').slice(0, 16)}.mjs`);
  writeFileSync(file, js);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const shape = DetectionShape.safeParse(mod.default);
  if (!shape.success) {
    throw new Error(
      `default export is not a detection: ${shape.error.issues.map((i) => `${i.path.join('.') || 'export'}: ${i.message}`).join('; ')}`,
    );
  }
  return mod.default as AnyDetection;
}

function walk(path: string, out: string[] = []): string[] {
  const st = statSync(path);
  if (st.isFile()) return [...out, path];
  for (const name of readdirSync(path).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const p = join(path, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ya?ml|m?ts|m?js|sql)$/.test(name) && !name.endsWith('.d.ts') && !/\.test\.m?[jt]s$/.test(name))
      out.push(p);
  }
  return out;
}

/** Loads every detection under the given files or folders; one broken file never stops the others. */
export async function loadDetections(paths: string[]): Promise<LoadReport> {
  const report: LoadReport = { detections: [], sql: [], problems: [], disabled: [] };
  const ids = new Set<string>();
  let off = new Map<string, string>();
  let list = '';
  const claim = (id: string, path: string): boolean => {
    if (off.has(id)) {
      report.disabled.push({ id, path, why: off.get(id)!, list });
      return false;
    }
    if (ids.has(id)) {
      report.problems.push({ path, reason: `duplicate detection id ${id}`, unsupported: false });
      return false;
    }
    ids.add(id);
    return true;
  };
  for (const root of paths) {
    let files: string[];
    try {
      files = walk(resolve(root));
      const folder = statSync(resolve(root)).isDirectory();
      off = folder ? readDisabledList(resolve(root)) : new Map();
      list = folder ? join(resolve(root), DISABLED_LIST) : '';
    } catch (err) {
      report.problems.push({ path: root, reason: `cannot read: ${(err as Error).message}`, unsupported: false });
      continue;
    }
    for (const path of files) {
      try {
        const ext = extname(path);
        if (ext === '.yml' || ext === '.yaml') {
          const { detection, rule } = compileSigma(parseSigma(readFileSync(path, 'utf8')));
          if (claim(detection.id, path))
            report.detections.push({ detection, source: 'sigma', author: rule.author ?? null, origin: path });
        } else if (ext === '.sql') {
          const d = parseSqlDetection(readFileSync(path, 'utf8'), path);
          if (claim(d.id, path)) report.sql.push(d);
        } else {
          const detection = await loadModule(path);
          if (claim(detection.id, path))
            report.detections.push({ detection, source: 'typescript', author: detection.author ?? null, origin: path });
        }
      } catch (err) {
        report.problems.push({
          path,
          reason: (err as Error).message,
          unsupported: err instanceof SigmaError && err.unsupported,
          ...(err instanceof DetectionFileError ? { details: err.details } : {}),
        });
      }
    }
  }
  return report;
}
