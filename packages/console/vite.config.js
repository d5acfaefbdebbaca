// The console is served by the server at /console (packages/server/src/console.ts), from dist/web.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  // esbuild's own JSX transform for Preact: no Babel preset, so the build stays a couple of seconds.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // The CSP allows no inline script: the module preload polyfill would be one.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
