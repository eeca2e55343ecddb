import type { EventKind, EventV1, Severity } from '@vigil/schema';
import { defineDetection, type AnyDetection } from '../define.js';
import { SigmaError, type SigmaRule } from './rule.js';
import { SIGMA_FIELDS, UNSUPPORTED_FIELDS } from './fields.js';

type Pred = (ev: EventV1) => boolean;

/**
 * A necessary condition of a predicate, for the engine's index: the event's image basename (lower
 * case) must be one of these names, or the predicate is false. null: no such condition is known.
 */
type Images = ReadonlySet<string> | null;
interface Compiled {
  pred: Pred;
  images: Images;
}

/** Either side's condition holds (or): the union; unknown if either is. */
const eitherImages = (xs: Images[]): Images =>
  xs.some((x) => x === null) ? null : new Set(xs.flatMap((x) => [...x!]));
/** Both sides hold (and): either side's condition is necessary; the narrower one indexes better. */
const bothImages = (xs: Images[]): Images =>
  xs.reduce<Images>((best, x) => (x !== null && (best === null || x.size < best.size) ? x : best), null);

/**
 * The image basenames a field test needs, when it is a plain whole-name test on the image: Image
 * ending in "/name" or equal to a path or name, OriginalFileName equal to a name. Anything looser
 * (wildcards, other modifiers, substrings) gives none.
 */
function fieldImages(field: string, mods: string[], values: unknown[]): Images {
  if (field !== 'Image' && field !== 'OriginalFileName') return null;
  const plainMods = mods.every((m) => m === 'endswith' || m === 'all');
  const endswith = mods.includes('endswith');
  if (!plainMods || (field === 'OriginalFileName' && endswith)) return null;
  const names: string[] = [];
  for (const v of values) {
    if (typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v) || /[*?\\]/.test(v)) return null;
    const slash = v.lastIndexOf('/');
    // "Image|endswith: x" also matches "/usr/bin/abcx": only a value starting with "/" pins the name.
    if (endswith && !v.startsWith('/')) return null;
    if (field === 'OriginalFileName' && slash >= 0) return null;
    names.push(v.slice(slash + 1).toLowerCase());
  }
  if (names.length === 0) return null;
  // With |all every value must hold, so any one of them is necessary.
  return new Set(mods.includes('all') ? [names[0]!] : names);
}

const CATEGORY_KIND: Record<string, EventKind> = { process_creation: 'exec', network_connection: 'connect' };
const LEVEL: Record<NonNullable<SigmaRule['level']>, Severity> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};
const SUPPORTED_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'cidr',
  'base64',
  'base64offset',
  'windash',
  'exists',
  'i',
  'm',
  's',
]);

/** Sigma wildcards (* and ?, with \ escapes) → a case-insensitive whole-value RegExp. */
function wildcard(value: string, mode: 'exact' | 'contains' | 'startswith' | 'endswith'): RegExp {
  let re = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (value[i + 1] === '*' || value[i + 1] === '?' || value[i + 1] === '\\')) {
      re += `\\${value[++i]}`;
      continue;
    }
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  const pre = mode === 'contains' || mode === 'endswith' ? '' : '^';
  const post = mode === 'contains' || mode === 'startswith' ? '' : '$';
  return new RegExp(`${pre}${re}${post}`, 'is');
}

/** A test on a field value given as text and as lower-case text (computed once per event and field). */
type ValueTest = (text: string, lower: string) => boolean;

/**
 * Sigma's case-insensitive match of one value. Plain ASCII values (most of them) compare lower-cased
 * strings; wildcards and the rest go through wildcard()'s RegExp.
 */
function valueTest(value: string, mode: 'exact' | 'contains' | 'startswith' | 'endswith'): ValueTest {
  if (/^[\x20-\x7e]*$/.test(value) && !/[*?\\]/.test(value)) {
    const v = value.toLowerCase();
    if (mode === 'contains') return (_t, l) => l.includes(v);
    if (mode === 'startswith') return (_t, l) => l.startsWith(v);
    if (mode === 'endswith') return (_t, l) => l.endsWith(v);
    return (_t, l) => l === v;
  }
  const re = wildcard(value, mode);
  return (t) => re.test(t);
}

/**
 * Field values of the event being evaluated, computed once: every rule reading CommandLine would
 * otherwise join argv again (and there are a hundred rules per exec).
 */
const memo = { ev: null as EventV1 | null, texts: [] as (string | null | undefined)[], lowers: [] as string[] };
const slots = new Map<string, number>();
function fieldReader(field: string, get: (ev: EventV1) => string | number | null) {
  let slot = slots.get(field);
  if (slot === undefined) slots.set(field, (slot = slots.size));
  const i = slot;
  /** The value as text (null: the event has none); its lower-case form is then `lower()`. */
  const text = (ev: EventV1): string | null => {
    if (memo.ev !== ev) {
      memo.ev = ev;
      memo.texts.fill(undefined);
    }
    let t = memo.texts[i];
    if (t === undefined) {
      const raw = get(ev);
      t = raw === null ? null : String(raw);
      memo.texts[i] = t;
      if (t !== null) memo.lowers[i] = t.toLowerCase();
    }
    return t;
  };
  /** The lower-case form of the value `text` last returned for this event. */
  const lower = (): string => memo.lowers[i]!;
  return { text, lower };
}

function cidrMatcher(cidr: string): (ip: string) => boolean {
  const [net, bitsText] = cidr.split('/');
  const v4 = (s: string) => {
    const p = s.split('.').map(Number);
    return p.length === 4 && p.every((x) => x >= 0 && x <= 255)
      ? ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0
      : null;
  };
  const base = v4(net ?? '');
  const bits = Number(bitsText ?? 32);
  if (base === null) {
    // IPv6 prefix: compare the textual expansion by prefix groups.
    const prefix = (net ?? '').toLowerCase().replace(/::$/, ':');
    return (ip) => ip.toLowerCase().startsWith(prefix);
  }
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (ip) => {
    const x = v4(ip.replace(/^::ffff:/, ''));
    return x !== null && (x & mask) >>> 0 === (base & mask) >>> 0;
  };
}

function base64Variants(s: string, offsets: boolean): string[] {
  if (!offsets) return [Buffer.from(s).toString('base64').replace(/=+$/, '')];
  return [0, 1, 2].map((k) => {
    const enc = Buffer.from(' '.repeat(k) + s).toString('base64');
    const start = [0, 2, 3][k]!;
    const end = [0, -3, -2][(s.length + k) % 3]!;
    return enc.slice(start, end || undefined).replace(/=+$/, '');
  });
}

function fieldPredicate(
  key: string,
  raw: unknown,
  fields: Record<string, (ev: EventV1) => string | number | null>,
): Compiled {
  const [field = '', ...mods] = key.split('|');
  return {
    pred: fieldTest(key, raw, fields),
    images: fieldImages(field, mods, (Array.isArray(raw) ? raw : [raw]) as unknown[]),
  };
}

function fieldTest(key: string, raw: unknown, fields: Record<string, (ev: EventV1) => string | number | null>): Pred {
  const [field, ...mods] = key.split('|');
  if (!field) throw new SigmaError('empty field name', true);
  if (UNSUPPORTED_FIELDS[field]) throw new SigmaError(`field ${field}: ${UNSUPPORTED_FIELDS[field]}`, true);
  const getter = fields[field];
  if (!getter) throw new SigmaError(`field ${field} is not mapped for this logsource`, true);
  const { text: get, lower } = fieldReader(field, getter);
  for (const m of mods) if (!SUPPORTED_MODIFIERS.has(m)) throw new SigmaError(`modifier |${m} is not supported`, true);
  const values = (Array.isArray(raw) ? raw : [raw]) as unknown[];
  const all = mods.includes('all');
  if (mods.includes('exists')) {
    const want = values[0] === true;
    return (ev) => (get(ev) !== null) === want;
  }
  let tests: ValueTest[];
  if (mods.includes('re')) {
    tests = values.map((v) => {
      const flags = (mods.includes('i') ? 'i' : '') + (mods.includes('m') ? 'm' : '') + (mods.includes('s') ? 's' : '');
      let re: RegExp;
      try {
        re = new RegExp(String(v), flags);
      } catch (cause) {
        throw new SigmaError(`field ${field}: invalid regular expression ${JSON.stringify(String(v))}`, false, {
          cause,
        });
      }
      return (x: string) => re.test(x);
    });
  } else if (mods.includes('cidr')) {
    tests = values.map((v) => {
      const m = cidrMatcher(String(v));
      return (t: string) => m(t);
    });
  } else {
    const mode = mods.includes('contains')
      ? 'contains'
      : mods.includes('startswith')
        ? 'startswith'
        : mods.includes('endswith')
          ? 'endswith'
          : 'exact';
    tests = values.map((v): ValueTest => {
      if (v === null) return (x) => x === '';
      let strs = [String(v)];
      if (mods.includes('windash'))
        strs = strs.flatMap((s) => [s, s.replace(/(^|\s)-/g, '$1/'), s.replace(/(^|\s)-/g, '$1–')]);
      if (mods.includes('base64') || mods.includes('base64offset'))
        strs = strs.flatMap((s) => base64Variants(s, mods.includes('base64offset')));
      const variants = strs.map((s) => valueTest(s, mode));
      return variants.length === 1 ? variants[0]! : (t, l) => variants.some((test) => test(t, l));
    });
  }
  return (ev) => {
    const v = get(ev);
    if (v === null) return values.some((x) => x === null) && !all;
    const l = lower();
    if (all) {
      for (const t of tests) if (!t(v, l)) return false;
      return true;
    }
    for (const t of tests) if (t(v, l)) return true;
    return false;
  };
}

function searchPredicate(
  name: string,
  body: unknown,
  fields: Record<string, (ev: EventV1) => string | number | null>,
): Compiled {
  if (Array.isArray(body)) {
    if (body.every((x) => typeof x === 'string' || typeof x === 'number')) {
      // Keywords: any of them anywhere in the command line (Vigil's free text).
      const tests = body.map((k) => valueTest(String(k), 'contains'));
      const line = fieldReader('CommandLine', (ev) => (ev.kind === 'exec' ? ev.exec.argv : ev.proc.argv).join(' '));
      return {
        pred: (ev) => {
          const t = line.text(ev)!;
          const l = line.lower();
          return tests.some((test) => test(t, l));
        },
        images: null,
      };
    }
    const alts = body.map((m, i) => searchPredicate(`${name}[${i}]`, m, fields));
    return { pred: (ev) => alts.some((a) => a.pred(ev)), images: eitherImages(alts.map((a) => a.images)) };
  }
  if (body && typeof body === 'object') {
    const parts = Object.entries(body as Record<string, unknown>).map(([k, v]) => fieldPredicate(k, v, fields));
    return { pred: (ev) => parts.every((p) => p.pred(ev)), images: bothImages(parts.map((p) => p.images)) };
  }
  throw new SigmaError(`search ${name} is neither a map nor a list`);
}

/** Condition grammar: or / and / not / ( ) / "1 of x*" / "all of x*" / "all of them" / identifiers. */
function compileCondition(text: string, searches: Map<string, Compiled>): Compiled {
  if (text.includes('|'))
    throw new SigmaError(`aggregations ("${text.slice(text.indexOf('|')).trim()}") are not supported`, true);
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const pick = (pattern: string): Compiled[] => {
    const re =
      pattern === 'them' ? /.*/ : new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const hits = [...searches].filter(([n]) => re.test(n)).map(([, c]) => c);
    if (hits.length === 0) throw new SigmaError(`condition refers to "${pattern}", which matches no search`);
    return hits;
  };
  const atom = (): Compiled => {
    const t = tokens[i++];
    if (t === undefined) throw new SigmaError(`condition ends too early: ${text}`);
    if (t === '(') {
      const e = or();
      if (tokens[i++] !== ')') throw new SigmaError(`unbalanced parentheses: ${text}`);
      return e;
    }
    const lower = t.toLowerCase();
    if ((lower === '1' || lower === 'any' || lower === 'all') && peek() === 'of') {
      i++;
      const target = tokens[i++];
      if (!target) throw new SigmaError(`"of" without a target: ${text}`);
      const cs = pick(target);
      const images = cs.map((c) => c.images);
      return lower === 'all'
        ? { pred: (ev) => cs.every((c) => c.pred(ev)), images: bothImages(images) }
        : { pred: (ev) => cs.some((c) => c.pred(ev)), images: eitherImages(images) };
    }
    const c = searches.get(t);
    if (!c) throw new SigmaError(`condition names unknown search "${t}"`);
    return c;
  };
  const not = (): Compiled => {
    if (peek() === 'not') {
      i++;
      const c = not();
      return { pred: (ev) => !c.pred(ev), images: null };
    }
    return atom();
  };
  const and = (): Compiled => {
    let l = not();
    while (peek() === 'and') {
      i++;
      const r = not();
      const a = l;
      l = { pred: (ev) => a.pred(ev) && r.pred(ev), images: bothImages([a.images, r.images]) };
    }
    return l;
  };
  const or = (): Compiled => {
    let l = and();
    while (peek() === 'or') {
      i++;
      const r = and();
      const a = l;
      l = { pred: (ev) => a.pred(ev) || r.pred(ev), images: eitherImages([a.images, r.images]) };
    }
    return l;
  };
  const e = or();
  if (i !== tokens.length) throw new SigmaError(`cannot read the condition past "${tokens[i]}": ${text}`);
  return e;
}

export interface CompiledSigma {
  detection: AnyDetection;
  rule: SigmaRule;
}

/** A Sigma rule as a Vigil detection; throws SigmaError (unsupported = true when Vigil cannot run it). */
export function compileSigma(rule: SigmaRule): CompiledSigma {
  const { product, category } = rule.logsource;
  if (product !== 'linux') throw new SigmaError(`logsource product "${product ?? '-'}" (Vigil runs linux rules)`, true);
  const kind = category ? CATEGORY_KIND[category] : undefined;
  if (!kind || !category)
    throw new SigmaError(
      `logsource ${category ?? rule.logsource.service ?? '-'} (Vigil feeds process_creation and network_connection)`,
      true,
    );
  const fields = SIGMA_FIELDS[category as keyof typeof SIGMA_FIELDS];
  const { condition, timeframe, ...named } = rule.detection;
  if (timeframe) throw new SigmaError('timeframe/correlation rules are not supported', true);
  const searches = new Map(Object.entries(named).map(([n, body]) => [n, searchPredicate(n, body, fields)] as const));
  const conditions = (Array.isArray(condition) ? condition : [condition]).map((c) =>
    compileCondition(String(c), searches),
  );
  const pred: Pred = (ev) => conditions.some((c) => c.pred(ev));
  const images = eitherImages(conditions.map((c) => c.images));
  const mitre = (rule.tags ?? [])
    .filter((t) => /^attack\.t\d{4}(\.\d{3})?$/i.test(t))
    .map((t) => t.slice(7).toUpperCase());
  const detection = defineDetection({
    id: `sigma.${rule.id ?? rule.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
    title: rule.title,
    severity: LEVEL[rule.level ?? 'medium'],
    mitre,
    on: [kind],
    author: rule.author ?? 'unknown',
    ...(rule.description ? { description: rule.description } : {}),
    ...(images ? { images: [...images] } : {}),
    match(ev: EventV1) {
      if (!pred(ev)) return null;
      const what =
        ev.kind === 'exec'
          ? ev.exec.argv.join(' ')
          : ev.kind === 'connect'
            ? `${ev.proc.exe} → ${ev.connect.daddr}:${ev.connect.dport}`
            : '';
      return {
        reason: `Sigma rule "${rule.title}" (${rule.id ?? 'no id'}, by ${rule.author ?? 'unknown'}, DRL 1.1) matched: ${what}`,
      };
    },
  });
  return { detection: detection as AnyDetection, rule };
}
