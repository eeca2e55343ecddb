// Writes cli/oclif.manifest.json from the built commands (run by `npm run build`). Without it oclif
// imports every command module to list them on each `vigil` call; with it, only the one that runs:
// about half of a short command's time. cli/src/commands/manifest.test.ts checks it is current.
import { writeFileSync } from 'node:fs';
import { Plugin } from '@oclif/core';

const root = new URL('../cli/', import.meta.url).pathname;
const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
writeFileSync(`${root}oclif.manifest.json`, `${JSON.stringify(plugin.manifest)}\n`);
