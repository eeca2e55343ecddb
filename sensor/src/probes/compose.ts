import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PROBES_DIR, PRELUDE_SCRIPT } from './registry.js';

/**
 * Probe files as bpftrace programs. Every program starts with the prelude (probes/prelude.bt: the
 * ready record from BEGIN, the wake record on a stop signal), once, and the probe files leave BEGIN to
 * it. Each bpftrace process links LLVM and clang (~100 MiB resident) and polls its own buffers, so one
 * process for all probes costs a quarter of four: composing takes each file's END block out, replaces
 * its positional parameters ($1, $2 …) by its own arguments, and puts one END (every file's clean-up)
 * after the lot. A probe run alone is the prelude and the file, its arguments given to bpftrace.
 */
export interface ProbeSource {
  name: string;
  text: string;
  args: string[];
}

export class ComposeError extends Error {
  override name = 'ComposeError';
}

/** Start and end (exclusive) of the top-level `<label> { … }` block, or null. */
function findBlock(text: string, label: string): { start: number; bodyStart: number; end: number } | null {
  const m = new RegExp(`^${label}\\s*\\{`, 'm').exec(text);
  if (!m) return null;
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
      if (i === 0) break;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      i = text.indexOf('\n', i);
      if (i < 0) break;
      continue;
    }
    if (c === '"') {
      do {
        i++;
        if (text[i] === '\\') i++;
      } while (i < text.length && text[i] !== '"');
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return { start: m.index, bodyStart: m.index + m[0].length, end: i + 1 };
  }
  throw new ComposeError(`unbalanced braces in the ${label} block`);
}

function cut(text: string, label: string): { rest: string; body: string } {
  const b = findBlock(text, label);
  if (!b) return { rest: text, body: '' };
  return { rest: text.slice(0, b.start) + text.slice(b.end), body: text.slice(b.bodyStart, b.end - 1) };
}

/** The prelude in probe folder `dir`. */
export function readPrelude(dir: string = DEFAULT_PROBES_DIR): string {
  return readFileSync(join(dir, PRELUDE_SCRIPT), 'utf8');
}

/** The prelude owns BEGIN: a probe file with its own would print a second ready record. */
function refuseBegin(s: Pick<ProbeSource, 'name' | 'text'>): void {
  if (findBlock(s.text, 'BEGIN'))
    throw new ComposeError(`${s.name}: BEGIN belongs to probes/${PRELUDE_SCRIPT} (the ready record), not to a probe`);
}

/** One probe file as a program of its own: the prelude, then the file (its parameters left to bpftrace). */
export function standaloneProbe(source: Pick<ProbeSource, 'name' | 'text'>, prelude: string = readPrelude()): string {
  refuseBegin(source);
  return `${prelude.trim()}\n\n/* ---- probes/${source.name}.bt ---- */\n${source.text}`;
}

/** Several probe files as one program: the prelude once, every body with its parameters filled in, one END. */
export function composeProbes(sources: ProbeSource[], prelude: string = readPrelude()): string {
  const parts: string[] = [];
  const ends: string[] = [];
  for (const s of sources) {
    refuseBegin(s);
    const end = cut(s.text, 'END');
    const body = end.rest.replace(/\$(\d+)\b/g, (_, n: string) => {
      const v = s.args[Number(n) - 1];
      if (v === undefined || !/^-?\d+$/.test(v))
        throw new ComposeError(`${s.name}: positional parameter $${n} has no numeric argument`);
      return v;
    });
    parts.push(`/* ---- probes/${s.name}.bt ---- */\n${body.trim()}\n`);
    if (end.body.trim()) ends.push(`  /* ${s.name} */\n${end.body.replace(/^\n+|\s+$/g, '')}`);
  }
  return [
    `/* Composed by the Vigil sensor from probes/${PRELUDE_SCRIPT}, ${sources.map((s) => `probes/${s.name}.bt`).join(', ')}. */`,
    `${prelude.trim()}\n`,
    ...parts,
    `END\n{\n${ends.join('\n')}\n}\n`,
  ].join('\n');
}
