import { defineConfig } from 'vite';

// Builds from the SDK's source (the "@socketgate/source" condition), so the workspace needs no
// separate SDK build first.
export default defineConfig({
  resolve: { conditions: ['@socketgate/source', 'module', 'browser', 'import', 'default'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
