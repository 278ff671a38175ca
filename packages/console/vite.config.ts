/** The console is a static bundle: `firebreak serve` serves dist/web at `/` (hashed assets under /assets/). */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'app',
  base: '/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    // Cytoscape is loaded only when a storyline graph is shown, so the first page stays small.
    chunkSizeWarningLimit: 600,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
