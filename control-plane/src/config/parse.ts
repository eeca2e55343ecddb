import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { VigilConfigV1 } from '@vigil/schema';
import { compileSuppressions, SuppressionError } from '../alerts/suppress.js';

/** One thing wrong in a configuration file: where (the path inside it, its line when known) and which rule. */
export interface ConfigProblem {
  path: string;
  line: number | null;
  rule: string;
}

/** A configuration file that cannot be used: the message names the file, each problem's path, line and rule. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      `${file}: ${problems
        .map((p) => `${p.line !== null ? `line ${p.line}: ` : ''}${p.path ? `${p.path}: ` : ''}${p.rule}`)
        .join('; ')}`,
      options,
    );
  }
}

/** A path inside the file as people write it: outputs[1].url. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
}

/** The line (1-based) of the value at `path`, or of the nearest enclosing one the file has. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}

/** Relative paths in the file name places beside it, wherever the control plane was started. */
function resolvePaths(cfg: VigilConfigV1, file: string): VigilConfigV1 {
  const dir = dirname(resolve(file));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  return {
    ...cfg,
    detections: cfg.detections.map(at),
    ...(cfg.tls
      ? {
          tls: {
            ...cfg.tls,
            cert: at(cfg.tls.cert),
            key: at(cfg.tls.key),
            ...(cfg.tls.ca ? { ca: at(cfg.tls.ca) } : {}),
          },
        }
      : {}),
    outputs: cfg.outputs.map((o) => {
      if (o.type === 'file') return { ...o, path: at(o.path) };
      if (o.type === 'webhook' && o.secretFile) return { ...o, secretFile: at(o.secretFile) };
      if (o.type === 'syslog' && o.transport === 'unix') return { ...o, address: at(o.address) };
      return o;
    }),
  };
}

/**
 * vigil.yaml's text → its configuration: YAML, then the schema (VigilConfigV1), then what only this
 * host can tell (user names, addresses of suppressions). Throws ConfigFileError.
 */
export function parseConfigText(text: string, file: string): VigilConfigV1 {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => ({
        path: '',
        line: counter.linePos(e.pos[0]).line,
        rule: `not YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  const parsed = VigilConfigV1.safeParse(doc.toJS() ?? {});
  if (!parsed.success)
    throw new ConfigFileError(
      file,
      parsed.error.issues.map((i) => {
        // An unknown key is reported on its object: point at the key itself.
        const keys = i.code === 'unrecognized_keys' ? i.keys : [];
        const path = keys.length === 1 ? [...i.path, keys[0]!] : i.path;
        return { path: pathText(path), line: lineOf(doc, counter, path), rule: i.message };
      }),
      { cause: parsed.error },
    );
  try {
    compileSuppressions(parsed.data.suppressions);
  } catch (err) {
    if (!(err instanceof SuppressionError)) throw err;
    const path = ['suppressions', ...err.path];
    throw new ConfigFileError(file, [{ path: pathText(path), line: lineOf(doc, counter, path), rule: err.message }], {
      cause: err,
    });
  }
  return resolvePaths(parsed.data, file);
}
