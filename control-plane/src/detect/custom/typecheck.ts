import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** A detection file TypeScript cannot parse or type-check; `details` holds one line per error. */
export class DetectionFileError extends Error {
  override name = 'DetectionFileError';
  constructor(
    message: string,
    readonly details: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The compiler itself could not run (its options, or the published types missing): no file is to blame. */
export class TypeCheckError extends Error {
  override name = 'TypeCheckError';
}

/** `line:col TScode: message`, as tsc words it; the lines of a message chain indented under it. */
export function diagnosticLines(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
      if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${line + 1}:${character + 1} TS${d.code}: ${text}`;
    });
}

const errorCount = (n: number, what: string): string => `${n} ${what} error${n === 1 ? '' : 's'}`;

/** One line for a file's errors: how many, and the first (without the detail lines of its chain). */
export const errorsReason = (errors: string[], what: string): string =>
  `${errorCount(errors.length, what)}: ${errors[0]?.split('\n')[0] ?? ''}`;

/** What a detection module imports, as this package publishes it (its declaration files). */
const PUBLIC_TYPES = fileURLToPath(new URL('../public.d.ts', import.meta.url));

/**
 * Node's own types, when installed (`npm ci` installs them): detections run inside Node and may use
 * its globals (console, Buffer). Without them those globals are unknown names to the checker.
 */
function nodeTypes(): Pick<ts.CompilerOptions, 'types' | 'typeRoots'> {
  try {
    const pkg = createRequire(import.meta.url).resolve('@types/node/package.json');
    return { typeRoots: [dirname(dirname(pkg))], types: ['node'] };
  } catch {
    return { types: [] };
  }
}

/**
 * Type-checks TypeScript detection modules against the published types of
 * `@vigil/control-plane/detect`, wherever the files are, with the strictness this repository uses.
 * Returns, per file, its error lines (none for a clean file).
 */
export function typeCheckDetections(files: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (files.length === 0) return out;
  const options: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    paths: { '@vigil/control-plane/detect': [PUBLIC_TYPES] },
    ...nodeTypes(),
  };
  const program = ts.createProgram(
    files.map((f) => resolve(f)),
    options,
  );
  const global = diagnosticLines([...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]);
  if (global.length > 0) throw new TypeCheckError(`the type checker cannot run: ${global.join('; ')}`);
  if (!program.getSourceFile(PUBLIC_TYPES)) {
    // Without the published types every import of them is an error: say what is missing instead.
    const uses = files.some((f) => program.getSourceFile(resolve(f))?.text.includes('@vigil/control-plane/detect'));
    if (uses)
      throw new TypeCheckError(`the published types are missing (${PUBLIC_TYPES}): build the control plane first`);
  }
  for (const f of files) {
    const source = program.getSourceFile(resolve(f));
    if (!source) {
      out.set(f, ['the type checker could not read this file']);
      continue;
    }
    out.set(
      f,
      diagnosticLines([...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]),
    );
  }
  return out;
}
