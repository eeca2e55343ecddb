import { defineConfig } from 'vite';

// Served by the control plane under /ui (control-plane/src/api/console-static.ts); every asset is in
// the bundle, nothing is fetched from elsewhere.
export default defineConfig({
  base: '/ui/',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
