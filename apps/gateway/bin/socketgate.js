#!/usr/bin/env node
// Runs the gateway's TypeScript source through tsx, resolving the workspace's packages to their
// sources too (the "@socketgate/source" export condition), so a fresh checkout needs no build step.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const addSourceCondition =
  'export async function resolve(specifier, context, next) {' +
  " return next(specifier, { ...context, conditions: [...context.conditions, '@socketgate/source'] }); }";
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`, import.meta.url);
registerTsx();
await import(new URL('../src/cli.ts', import.meta.url).href);
