// Runs every suite: Vitest (unit and integration on loopback), then Playwright (the web terminal and
// the SDK in Debian's Chromium). Closes with one plain line: "tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

mkdirSync('.test-results', { recursive: true });
const node = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' });
const read = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};

let passed = 0;
let failed = 0;
let skipped = 0;

const vitestReport = '.test-results/vitest.json';
rmSync(vitestReport, { force: true });
const vitest = node([
  'node_modules/vitest/vitest.mjs',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestReport}`,
  ...process.argv.slice(2),
]);
const unit = read(vitestReport);
if (unit) {
  passed += unit.numPassedTests;
  failed += unit.numFailedTests;
  skipped += unit.numPendingTests + unit.numTodoTests;
} else failed += 1;

// The page the end-to-end tests drive is the built terminal.
const build = node(['node_modules/vite/bin/vite.js', 'build', 'apps/terminal', '--logLevel', 'warn']);
const e2eReport = '.test-results/playwright.json';
rmSync(e2eReport, { force: true });
const e2e = build.status === 0 ? node(['node_modules/@playwright/test/cli.js', 'test']) : build;
const browser = read(e2eReport);
if (browser) {
  passed += browser.stats.expected + browser.stats.flaky;
  failed += browser.stats.unexpected;
  skipped += browser.stats.skipped;
} else failed += 1;

console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(vitest.status === 0 && e2e.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
