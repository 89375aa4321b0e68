/**
 * @module
 * The list of differences from Qt that the differential suite allows: the table under "Checked
 * against real Qt" in the SDK's README. Each row is `| \`id\` | reason | what differs |`, the
 * reason being `open: SDK to be fixed` or `open: gateway to be fixed` (still to be fixed), or
 * `item N` (the numbered difference above, which the row follows from). Scenarios name the ids at
 * the steps where they show (scenario.ts, Divergence).
 */
import { readFileSync } from 'node:fs';

export const SDK_README = new URL('../../README.md', import.meta.url);
export const HEADING = '### Checked against real Qt';
/** The reasons of a difference still to be fixed. */
export const OPEN = ['open: SDK to be fixed', 'open: gateway to be fixed'];

export interface ListedDivergence {
  id: string;
  reason: string;
  what: string;
}

/** The README's table of allowed differences, in its order. */
export function listedDivergences(readme = readFileSync(SDK_README, 'utf8')): ListedDivergence[] {
  const start = readme.indexOf(HEADING);
  if (start < 0) throw new Error(`the SDK README has no "${HEADING}" section`);
  const section = readme.slice(start + HEADING.length).split(/\n#{1,3} /)[0] as string;
  const rows: ListedDivergence[] = [];
  for (const line of section.split('\n')) {
    const row = /^\|\s*`([a-z0-9-]+)`\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (row) rows.push({ id: row[1] as string, reason: row[2] as string, what: row[3] as string });
  }
  return rows;
}

/** The numbers of the README's numbered differences ("1. **No blocking.** …"). */
export function numberedItems(readme = readFileSync(SDK_README, 'utf8')): number[] {
  const section = readme.slice(readme.indexOf('## Where the SDK differs from Qt'), readme.indexOf(HEADING));
  return [...section.matchAll(/^(\d+)\. \*\*/gm)].map((match) => Number(match[1]));
}
