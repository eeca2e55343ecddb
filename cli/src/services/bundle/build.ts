/**
 * `vigil bundle`: a self-contained, versioned tarball of the sensor for linux-x64. Layout:
 *   vigil-sensor-<version>-linux-x64/
 *     bin/node                 the Node.js runtime this CLI runs on (needs only glibc and libstdc++)
 *     bin/vigil                `vigil sensor`, `vigil version`
 *     lib/*.mjs                the sensor and those two commands, bundled by esbuild
 *     probes/*.bt              the bpftrace programs
 *     sensor/build/vigil-pageout
 *     package.json             oclif's root: name, version, the commands
 *     systemd/vigil-sensor.service, etc/sensor.env.example, VERSION
 * The bundled code finds the probes and the helper where a checkout keeps them, relative to its own
 * module (sensor/src/probes/registry.ts, host/pageout.ts): the bundle says its modules live in
 * sensor/dist/<dir>/, so those relative paths land on the bundle's probes/ and sensor/build/.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sensorEnvExample, sensorUnit, SENSOR_UNIT } from './unit.js';

export class BundleError extends Error {
  override name = 'BundleError';
}

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PAGEOUT_BUILT = join(REPO, 'sensor', 'build', 'vigil-pageout');

/** A version as bundles and /opt/vigil/<version> name it: no path separator, nothing the shell reads. */
export const BUNDLE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;

export const bundleName = (version: string): string => `vigil-sensor-${version}-linux-x64`;

/** The version a bundle's file name carries, or null when it is no bundle's name. */
export function bundleVersion(fileName: string): string | null {
  const m = /^vigil-sensor-(.+)-linux-x64\.tar\.gz$/.exec(fileName);
  return m?.[1] && BUNDLE_VERSION.test(m[1]) ? m[1] : null;
}

export interface BundleResult {
  path: string;
  version: string;
  node: string;
}

/** The shared libraries `bin` loads, from ldd (the runtime is copied as it is; the target supplies these). */
export function sharedLibraries(bin: string): string[] {
  const r = spawnSync('ldd', [bin], { encoding: 'utf8' });
  if (r.status !== 0) throw new BundleError(`ldd ${bin} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((l) => l && !l.startsWith('linux-vdso'));
}

async function bundleCode(stage: string): Promise<void> {
  await build({
    entryPoints: { commands: join(HERE, 'commands-entry.js'), run: join(HERE, 'run-entry.js') },
    outdir: join(stage, 'lib'),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
    // The CommonJS libraries inside (oclif, pino) call require(); an ES module has none of its own.
    banner: {
      js: [
        "import { createRequire as __vigilRequire } from 'node:module';",
        'const require = __vigilRequire(import.meta.url);',
        "const __vigilModuleUrl = new URL('../sensor/dist/bundle/', import.meta.url).href;",
      ].join('\n'),
    },
    define: { 'import.meta.url': '__vigilModuleUrl' },
  });
}

function vigilScript(): string {
  return `#!/bin/sh
# The sensor bundle's CLI: its own Node.js, its own code.
here=$(dirname "$(readlink -f "$0")")
exec "$here/node" "$here/../lib/run.mjs" "$@"
`;
}

/** Builds the tarball into `outDir` and says where it is. */
export async function buildBundle(outDir: string, version: string): Promise<BundleResult> {
  if (!existsSync(PAGEOUT_BUILT))
    throw new BundleError(`${PAGEOUT_BUILT} is missing: build it first (scripts/bootstrap.sh)`);
  if (!BUNDLE_VERSION.test(version)) throw new BundleError(`"${version}" is no bundle version`);
  const name = bundleName(version);
  const work = mkdtempSync(join(tmpdir(), 'vigil-bundle-'));
  const stage = join(work, name);
  try {
    mkdirSync(join(stage, 'bin'), { recursive: true });
    await bundleCode(stage).catch((cause: Error) => {
      throw new BundleError(`esbuild failed: ${cause.message}`, { cause });
    });
    copyFileSync(process.execPath, join(stage, 'bin', 'node'));
    chmodSync(join(stage, 'bin', 'node'), 0o755);
    writeFileSync(join(stage, 'bin', 'vigil'), vigilScript(), { mode: 0o755 });
    // The probes, not their test fixtures.
    cpSync(join(REPO, 'probes'), join(stage, 'probes'), {
      recursive: true,
      filter: (p) => !p.includes(`${sep}fixtures`) && !p.endsWith('.md'),
    });
    mkdirSync(join(stage, 'sensor', 'build'), { recursive: true });
    copyFileSync(PAGEOUT_BUILT, join(stage, 'sensor', 'build', 'vigil-pageout'));
    chmodSync(join(stage, 'sensor', 'build', 'vigil-pageout'), 0o755);
    mkdirSync(join(stage, 'systemd'));
    writeFileSync(join(stage, 'systemd', SENSOR_UNIT), sensorUnit());
    mkdirSync(join(stage, 'etc'));
    writeFileSync(join(stage, 'etc', 'sensor.env.example'), sensorEnvExample());
    writeFileSync(join(stage, 'VERSION'), `${version}\n`);
    writeFileSync(
      join(stage, 'package.json'),
      `${JSON.stringify(
        {
          name: 'vigil-sensor',
          version,
          type: 'module',
          oclif: {
            bin: 'vigil',
            dirname: 'vigil',
            topicSeparator: ' ',
            commands: { strategy: 'explicit', target: './lib/commands.mjs', identifier: 'COMMANDS' },
          },
        },
        null,
        2,
      )}\n`,
    );
    mkdirSync(outDir, { recursive: true });
    const path = join(outDir, `${name}.tar.gz`);
    const tar = spawnSync('tar', ['-czf', path, '-C', work, '--owner=0', '--group=0', name], { encoding: 'utf8' });
    if (tar.status !== 0) throw new BundleError(`tar failed: ${tar.stderr.trim()}`);
    return { path, version, node: process.version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
