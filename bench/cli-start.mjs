// The time a short `vigil` command takes, start to exit: with cli/oclif.manifest.json (oclif imports
// only the command that runs) and without it (oclif imports every command module to list them), in
// rotated order. `node bench/cli-start.mjs [reps]`; needs a build (`npm run build`).
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { CLI, report, rotated, spread } from './lib.mjs';

const MANIFEST = new URL('../cli/oclif.manifest.json', import.meta.url).pathname;
const ASIDE = `${MANIFEST}.bench-aside`;
if (!existsSync(MANIFEST)) throw new Error('cli/oclif.manifest.json is missing: run `npm run build` first');
const reps = Number(process.argv[2] ?? 15);
const COMMANDS = {
  version: ['version', '--api', 'http://127.0.0.1:1'],
  status: ['status', '--api', 'http://127.0.0.1:1'],
  help: ['--help'],
};

/** Milliseconds from spawn to exit; the commands fail to reach the API, which is all they need to do. */
const timed = (argv) => {
  const t = performance.now();
  try {
    execFileSync(process.execPath, [CLI, ...argv], { stdio: 'ignore' });
  } catch {}
  return performance.now() - t;
};

process.on('exit', () => existsSync(ASIDE) && renameSync(ASIDE, MANIFEST));
const runs = await rotated(reps, { manifest: true, 'no manifest': false }, async (withManifest) => {
  if (!withManifest) renameSync(MANIFEST, ASIDE);
  try {
    return Object.fromEntries(Object.entries(COMMANDS).map(([name, argv]) => [name, timed(argv)]));
  } finally {
    if (!withManifest) renameSync(ASIDE, MANIFEST);
  }
});
const ms = (xs) => Object.fromEntries(Object.entries(spread(xs)).map(([k, v]) => [k, Math.round(v)]));
report(
  Object.fromEntries(
    Object.entries(runs).map(([cond, rs]) => [
      cond,
      Object.fromEntries(Object.keys(COMMANDS).map((c) => [c, ms(rs.map((r) => r[c]))])),
    ]),
  ),
);
