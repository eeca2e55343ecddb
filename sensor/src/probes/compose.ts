/**
 * Several probe scripts as one bpftrace program. Each bpftrace process links LLVM and clang (~100 MiB
 * resident) and polls its own buffers, so one process for all probes costs a quarter of four. The
 * probe files stay standalone (their fixtures are recorded one by one); here each file's BEGIN and END
 * blocks are taken out, its positional parameters ($1, $2 …) are replaced by its own arguments, and one
 * BEGIN (the ready record) and one END (every file's clean-up) are put around the lot.
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
    if (c === '/' && text[i + 1] === '*') { i = text.indexOf('*/', i + 2) + 1; if (i === 0) break; continue; }
    if (c === '/' && text[i + 1] === '/') { i = text.indexOf('\n', i); if (i < 0) break; continue; }
    if (c === '"') { do { i++; if (text[i] === '\\') i++; } while (i < text.length && text[i] !== '"'); continue; }
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

export function composeProbes(sources: ProbeSource[]): string {
  const parts: string[] = [];
  const ends: string[] = [];
  for (const s of sources) {
    const begin = cut(s.text, 'BEGIN');
    if (!/print\(\(0, nsecs\)\)/.test(begin.body)) throw new ComposeError(`${s.name}: BEGIN must only print the ready record`);
    const end = cut(begin.rest, 'END');
    const body = end.rest.replace(/\$(\d+)\b/g, (_, n: string) => {
      const v = s.args[Number(n) - 1];
      if (v === undefined || !/^-?\d+$/.test(v)) throw new ComposeError(`${s.name}: positional parameter $${n} has no numeric argument`);
      return v;
    });
    parts.push(`/* ---- probes/${s.name}.bt ---- */\n${body.trim()}\n`);
    if (end.body.trim()) ends.push(`  /* ${s.name} */\n${end.body.replace(/^\n+|\s+$/g, '')}`);
  }
  return [
    `/* Composed by the Vigil sensor from ${sources.map((s) => `probes/${s.name}.bt`).join(', ')}. */`,
    'BEGIN\n{\n  print((0, nsecs));\n}\n',
    ...parts,
    `END\n{\n${ends.join('\n')}\n}\n`,
  ].join('\n');
}
