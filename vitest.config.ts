import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources directly through the "@socketgate/source" export condition.
export default defineConfig({
  resolve: { conditions: ['@socketgate/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@socketgate/source', ...defaultServerConditions] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Gateway processes the tests start serve /metrics on their main port: many run at once, and none
    // may take the default metrics port (9464) from a gateway the developer runs.
    env: { SOCKETGATE_METRICS_PORT: '0' },
    maxWorkers: 2,
  },
});
