import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

// The sensor's pid is in the name, so a later start can tell a killed sensor's folder from a live one's.
const STALE = /^vigil-probes-(\d+)-/;

/**
 * A private folder for the composed probe script, after removing those left by sensors that were
 * killed (a sensor that stops removes its own).
 */
export function makeScriptDir(parent: string, procRoot = '/proc'): string {
  removeStaleScriptDirs(parent, procRoot);
  return mkdtempSync(join(parent, `vigil-probes-${process.pid}-`));
}

function removeStaleScriptDirs(parent: string, procRoot: string): void {
  for (const name of readdirSync(parent)) {
    const pid = STALE.exec(name)?.[1];
    if (pid && !existsSync(join(procRoot, pid))) rmSync(join(parent, name), { recursive: true, force: true });
  }
}
