/**
 * @module
 * The canonical trace both runners write, and the comparison of a Qt trace with an SDK trace.
 *
 * A trace is the list of what a scenario's steps caused, each entry tagged with its step: every
 * signal with its arguments, the socket's state at emission and whether it came inside a call
 * (synchronously during it; for a wait, during the wait); each call's return value; each
 * checkpoint's values; each warning. Values are normalised only where the two sides must differ:
 * ports become the names of the servers or sockets they belong to, descriptors valid or invalid,
 * and long byte strings their length and hash. qt-runner.py writes the same shapes.
 */
import type { Divergence, PlannedScenario, SignalName } from './scenario.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Entry =
  | { step: number; signal: SignalName; socket: string; args: Json[]; state: string; inside: boolean }
  | { step: number; returned: Json }
  | { step: number; check: Record<string, Json> }
  | { step: number; warning: string; inside: boolean };

export interface Trace {
  scenario: string;
  entries: Entry[];
  /** The runner could not play the scenario (an exception): always a failure. */
  failure?: string;
}

/** Byte strings up to this length are kept as text (one character per byte). */
const LONG = 256;

/** 32-bit FNV-1a, as hex: a digest both runners compute the same way. */
export function fnv1a(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** Bytes as trace text: each byte one character (Latin-1), or `<N bytes fnv1a:HASH>` when long. */
export function bytesValue(bytes: Uint8Array): string {
  if (bytes.byteLength > LONG) return `<${bytes.byteLength} bytes fnv1a:${fnv1a(bytes)}>`;
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** The result of comparing one scenario's two traces. */
export interface Comparison {
  scenario: string;
  /** No difference at all. */
  identical: boolean;
  /** Every difference was a listed one, and every listed one happened. */
  ok: boolean;
  /** Divergence ids that happened where the scenario expects them. */
  seen: string[];
  problems: string[];
}

/** JSON with every object's keys sorted, so that the two runners' key orders do not matter. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

const render = (entries: readonly Entry[]): string =>
  entries.length === 0 ? '    (nothing)' : entries.map(({ step: _, ...rest }) => `    ${canonical(rest)}`).join('\n');

/** The entries' values with the keys `only` names taken out of return values and checkpoints. */
function mask(entries: readonly Entry[], only: readonly string[]): unknown[] {
  return entries.map((entry) => {
    if ('check' in entry) return { check: Object.fromEntries(Object.entries(entry.check).filter(([key]) => !only.includes(key))) };
    if ('returned' in entry && entry.returned !== null && typeof entry.returned === 'object' && !Array.isArray(entry.returned))
      return { returned: Object.fromEntries(Object.entries(entry.returned).filter(([key]) => !only.includes(key))) };
    const { step: _, ...rest } = entry;
    return rest;
  });
}

/** Only the keys `only` names, from return values and checkpoints. */
function pick(entries: readonly Entry[], only: readonly string[]): unknown[] {
  return entries.flatMap((entry) => {
    if ('check' in entry) return [Object.fromEntries(Object.entries(entry.check).filter(([key]) => only.includes(key)))];
    if ('returned' in entry && entry.returned !== null && typeof entry.returned === 'object' && !Array.isArray(entry.returned))
      return [Object.fromEntries(Object.entries(entry.returned).filter(([key]) => only.includes(key)))];
    return [];
  });
}

const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b);

/**
 * Compares step by step. A step with no expected divergence must record the same on both sides; a
 * step that expects one must differ (in the keys it names, when it names some) and agree elsewhere.
 */
export function compare(scenario: PlannedScenario, qt: Trace, sdk: Trace): Comparison {
  const problems: string[] = [];
  const seen: string[] = [];
  if (qt.failure !== undefined) problems.push(`the Qt runner failed: ${qt.failure}`);
  if (sdk.failure !== undefined) problems.push(`the SDK runner failed: ${sdk.failure}`);
  let identical = problems.length === 0;
  const at = (trace: Trace, step: number) => trace.entries.filter((entry) => entry.step === step);
  scenario.steps.forEach((step, index) => {
    const q = at(qt, index);
    const s = at(sdk, index);
    const expected: Divergence | undefined = step.diverges;
    const describe = `step ${index} ${JSON.stringify(stepLabel(step))}`;
    const difference = `  Qt:\n${render(q)}\n  SDK:\n${render(s)}`;
    const equal = same(mask(q, []), mask(s, []));
    if (!equal) identical = false;
    if (expected === undefined) {
      if (!equal) problems.push(`${describe} differs, and no divergence is listed for it:\n${difference}`);
      return;
    }
    if (expected.only === undefined) {
      if (equal) problems.push(`${describe}: the listed divergence ${expected.id} no longer happens (both sides agree)`);
      else seen.push(expected.id);
      return;
    }
    if (!same(mask(q, expected.only), mask(s, expected.only)))
      problems.push(`${describe} differs beyond ${expected.only.join(', ')} (listed divergence ${expected.id}):\n${difference}`);
    else if (same(pick(q, expected.only), pick(s, expected.only)))
      problems.push(`${describe}: the listed divergence ${expected.id} no longer happens (${expected.only.join(', ')} agree)`);
    else seen.push(expected.id);
  });
  const steps = scenario.steps.length;
  for (const [side, trace] of [
    ['Qt', qt],
    ['SDK', sdk],
  ] as const) {
    const stray = trace.entries.filter((entry) => entry.step < 0 || entry.step >= steps);
    if (stray.length > 0) problems.push(`the ${side} trace has entries outside the steps:\n${render(stray)}`);
  }
  return { scenario: scenario.name, identical, ok: problems.length === 0, seen: [...new Set(seen)], problems };
}

/** A step in a few words, for messages. */
export function stepLabel(step: PlannedScenario['steps'][number]): string {
  const socket = step.socket && step.socket !== 's' ? `${step.socket}.` : '';
  if ('call' in step) return `${socket}${step.call}(${step.args.map((arg) => JSON.stringify(arg)).join(', ')})`;
  if ('run' in step) {
    const until = step.until ? ` until ${socket}${step.until}${step.count ? ` x${step.count}` : ''}` : '';
    return `run ${step.run} ms${until}${step.state ? ` until ${socket}${step.state}` : ''}`;
  }
  return `check ${socket}${step.check.join(', ')}`;
}
