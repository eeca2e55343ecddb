/**
 * oclif lists commands from cli/oclif.manifest.json (scripts/oclif-manifest.mjs, run by `npm run
 * build`) and imports only the one that runs. A manifest older than the commands would hide a new
 * command or keep a removed one: it must name every built command, with the flags its class has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const CLI = new URL('../../', import.meta.url).pathname;
const COMMANDS = join(CLI, 'dist', 'commands');
const STALE = 'cli/oclif.manifest.json is stale: run `npm run build` (it runs scripts/oclif-manifest.mjs)';

type Manifest = { commands: Record<string, { relativePath: string[]; flags: Record<string, unknown> }> };

function commandFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) commandFiles(p, out);
    else if (e.endsWith('.js') && !e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const idOf = (file: string) =>
  relative(COMMANDS, file)
    .replace(/\.js$/, '')
    .replace(/(^|\/)index$/, '')
    .split('/')
    .join(':');

test('the oclif manifest names every built command, with the flags its class has', async () => {
  const manifest = JSON.parse(readFileSync(join(CLI, 'oclif.manifest.json'), 'utf8')) as Manifest;
  const files = commandFiles(COMMANDS);
  assert.deepEqual(Object.keys(manifest.commands).sort(), files.map(idOf).sort(), STALE);
  for (const file of files) {
    const entry = manifest.commands[idOf(file)]!;
    assert.equal(join(CLI, ...entry.relativePath), file, STALE);
    const cls = (await import(pathToFileURL(file).href)).default as {
      baseFlags?: object;
      flags?: object;
      enableJsonFlag?: boolean;
    };
    // oclif adds --json itself to a command that enables it.
    const own = Object.keys({ ...cls.baseFlags, ...cls.flags, ...(cls.enableJsonFlag ? { json: true } : {}) });
    assert.deepEqual(Object.keys(entry.flags).sort(), own.sort(), `${idOf(file)}: ${STALE}`);
  }
});
