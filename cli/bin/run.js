#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

// No user or dev plugins: oclif would load code named in $VIGIL_DATA_DIR/package.json (its "data
// dir" and Vigil's share the variable), and `vigil` runs as root.
await execute({
  loadOptions: { root: fileURLToPath(new URL('..', import.meta.url)), userPlugins: false, devPlugins: false },
});
