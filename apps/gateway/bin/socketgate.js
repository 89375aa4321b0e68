#!/usr/bin/env node
// The socketgate command: runs the built gateway (dist/, made by `pnpm build` or on `pnpm pack`).
import '../dist/cli.js';
