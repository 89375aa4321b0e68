#!/usr/bin/env node
// Runs the gateway's TypeScript source through tsx, so a fresh checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli.ts', import.meta.url).href);
