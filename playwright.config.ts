import { defineConfig } from '@playwright/test';

/** The gateway's port for the end-to-end tests; the demo services and the specs' own servers use 18400-18499. */
export const E2E_PORT = 18480;
export const E2E_TOKEN = 'e2e-token-0123456789';

// Gateway processes the specs start serve /metrics on their main port, never on the default
// metrics port (9464) a gateway the developer runs may hold.
process.env.SOCKETGATE_METRICS_PORT = '0';

// Debian's Chromium (browsers cannot be downloaded here), headless, with no background networking.
export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  workers: 1,
  outputDir: '.test-results/e2e',
  reporter: [['list'], ['json', { outputFile: '.test-results/playwright.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `node apps/gateway/bin/socketgate.js --demo --port ${E2E_PORT} --demo-port 18407 --token ${E2E_TOKEN} --allow 127.0.0.1/32:18400-18499 --log-level warn --metrics-port 0`,
    url: `http://127.0.0.1:${E2E_PORT}/readyz`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
