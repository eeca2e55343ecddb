import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { compileSigma } from './compile.js';
import { parseSigma, SigmaError } from './rule.js';
import { exec } from '../testing.js';

test('any YAML text is parsed or refused with a SigmaError, never a crash', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      try {
        compileSigma(parseSigma(text));
      } catch (err) {
        assert.ok(err instanceof SigmaError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('random detection sections compile or are refused with a reason; compiled ones never throw on events', () => {
  const field = fc.constantFrom(
    'Image',
    'CommandLine',
    'ParentImage',
    'User',
    'CurrentDirectory',
    'DestinationHostname',
    'Bogus',
  );
  const mods = fc.subarray(['contains', 'startswith', 'endswith', 'all', 're', 'base64', 'weird']);
  const value = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    fc.integer(),
  );
  const search = fc.dictionary(
    fc.tuple(field, mods).map(([f, m]) => [f, ...m].join('|')),
    value,
    { minKeys: 1, maxKeys: 3 },
  );
  const condition = fc.constantFrom(
    'sel',
    'sel and not flt',
    '1 of sel*',
    'all of them',
    '(sel or flt) and not sel',
    'sel |',
    'nope',
    'not',
    '(sel',
  );
  fc.assert(
    fc.property(search, search, condition, (sel, flt, cond) => {
      const text = stringify({
        title: 't',
        logsource: { product: 'linux', category: 'process_creation' },
        detection: { sel, flt, condition: cond },
      });
      let compiled: ReturnType<typeof compileSigma>;
      try {
        compiled = compileSigma(parseSigma(text));
      } catch (err) {
        assert.ok(err instanceof SigmaError, String(err));
        assert.ok((err as Error).message.length > 0);
        return;
      }
      compiled.detection.match(exec(['/usr/bin/curl', '-s', 'x']) as never, undefined as never);
    }),
    { numRuns: 1500 },
  );
});

test('the image index is sound: a rule that names its images never matches an event whose image is not one of them', () => {
  // Small alphabets, so that random rules and events often meet: matches, near misses, case and path variants.
  const word = fc.constantFrom('/a', 'a', '/b', 'b', '/x/a', '/A', 'x/a', '*a', '/a*', '', '/');
  const value = fc.oneof(word, fc.array(word, { minLength: 1, maxLength: 3 }));
  const key = fc
    .tuple(
      fc.constantFrom('Image', 'OriginalFileName', 'CommandLine'),
      fc.subarray(['endswith', 'all', 'contains', 'startswith']),
    )
    .map(([f, m]) => [f, ...m].join('|'));
  const search = fc.dictionary(key, value, { minKeys: 1, maxKeys: 2 });
  const condition = fc.constantFrom('s1', 's1 and s2', 's1 or s2', '1 of s*', 'all of them', 's1 and not s2', 'not s1');
  const image = fc.constantFrom('/a', '/x/a', '/x/A', 'a', '/b', '/x/ab', '/x/ba', '', '/usr/bin/a');
  fc.assert(
    fc.property(search, search, condition, image, fc.constantFrom('a', 'b', '/a x', 'x'), (s1, s2, cond, exe, arg) => {
      const text = stringify({
        title: 't',
        logsource: { product: 'linux', category: 'process_creation' },
        detection: { s1, s2, condition: cond },
      });
      let compiled: ReturnType<typeof compileSigma>;
      try {
        compiled = compileSigma(parseSigma(text));
      } catch {
        return;
      }
      const images = compiled.detection.images;
      if (!images) return;
      const ev = exec([exe || 'x', arg], { exe }, exe);
      const base = exe.slice(exe.lastIndexOf('/') + 1).toLowerCase();
      if (compiled.detection.match(ev as never, undefined as never))
        assert.ok(images.includes(base), `${text}\nmatched ${exe}, outside ${JSON.stringify(images)}`);
    }),
    { numRuns: 4000 },
  );
});
