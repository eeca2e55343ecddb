/** `bin/vigil` of a sensor bundle: oclif rooted at the bundle, whose package.json names COMMANDS. */
import { fileURLToPath } from 'node:url';
import { execute } from '@oclif/core';

await execute({
  loadOptions: { root: fileURLToPath(new URL('..', import.meta.url)), userPlugins: false, devPlugins: false },
});
