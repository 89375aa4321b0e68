/**
 * Keeps the documents honest where a machine can check them: README.md, docs/security.md,
 * docs/operations.md, docs/protocol.md and packages/sdk/README.md against the code.
 *
 * - Links and paths: every relative link (and its `#anchor`) resolves; every repository path in
 *   backticks (`apps/gateway/src/config.ts`, `test/qt-*.test.ts` from the document's folder, or a
 *   bare file name such as `frame-pool.ts`) exists; every `NAME.md` named anywhere exists.
 * - Config examples: a fenced block tagged `yaml`, `yml`, `json` or `jsonc` is gateway config and
 *   must pass the real loader (`readConfigFile`) and schema (`parseConfig`). A block in one of those
 *   languages that is something else says so in its info string: ```` ```yaml not-config ````.
 *   An inline `setting: value` (no spaces in the value) must be a valid value of that setting;
 *   inline `key: value` spans whose key is not a setting are listed in NOT_SETTINGS.
 * - Flags and variables: every `--flag` a document starts a code span with, and every flag on a
 *   `socketgate` command line, is one `socketgate --help` lists (flags of other tools are listed in
 *   OTHER_TOOLS_FLAGS); every `SOCKETGATE_*` name is a setting's variable (EXAMPLE_VARIABLES are
 *   read by the README's example instead).
 * - Defaults: a default stated as "`name` (default X)", "`name` (X)", "`name` (X by default)",
 *   "`name`, X" or "`name`, default X" (X a number with an optional unit: ms, s, min, h, KiB, MiB,
 *   GiB; or a backticked literal in the parenthesized forms), or in a table with a "setting" and a
 *   "default" column, equals the schema's default.
 * - Names: metric names, close codes, protocol error codes, Qt error names and SCREAMING_SNAKE
 *   constants in backticks exist in the code; protocol.md's tables list every close code, protocol
 *   error code and message type, with the code's numbers.
 * - Bundle size: "N KB gzipped", "under N KB" and "about N KB" match what the SDK's size test
 *   measures (testkit's `measureSdkBundle`, shared with packages/sdk/test/bundle.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientMessage, CloseCode, PROTOCOL_ERROR_CODES, ServerMessage, SOCKET_ERROR_NAMES } from '@socketgate/protocol';
import { measureSdkBundle, measureSocketBundle, SDK_GZIP_LIMIT_BYTES, SOCKET_SDK_GZIP_LIMIT_BYTES } from '@socketgate/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../src/config.js';
import * as gatewayExports from '../src/index.js';
import { createGateway } from '../src/index.js';
import { readConfigFile, type Setting, settings } from '../src/load-config.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DOCS = ['README.md', 'docs/security.md', 'docs/operations.md', 'docs/protocol.md', 'packages/sdk/README.md'];

/** `key: value` spans that are not settings: what else the documents quote in that form. */
const NOT_SETTINGS = new Set([
  'alg', // a JWT header field
  'reset', // a field of the protocol's end message
  'token', // a line of websockify's targets file, `token: host:port`
]);
/** Flags of other tools the documents mention, each with its tool. */
const OTHER_TOOLS_FLAGS = new Map([
  ['--cpu-prof', 'node'],
  ['--trace-gc', 'node'],
  ['--trace-gc-nvp', 'node'],
  ['--trace-incremental-marking', 'node'],
  ['--max-semi-space-size', 'node'],
  ['--profile', 'docker compose'],
]);
/** Variables the README's Node example reads (checked to be in it). */
const EXAMPLE_VARIABLES = new Set(['SOCKETGATE_URL', 'SOCKETGATE_TOKEN']);
/** Constants of the OS, libuv and Qt that the documents name. */
const FOREIGN_CONSTANTS = new Set([
  'TCP_NODELAY',
  'SO_KEEPALIVE',
  'SO_REUSEADDR',
  'IP_MULTICAST_ALL',
  'UV_THREADPOOL_SIZE',
  'INT64_MIN',
  'INT64_MAX',
]);
/** The benchmark's switches: the environment variables bench/run.ts reads. */
const BENCH_SWITCHES = new Set(
  [...readFileSync(join(ROOT, 'bench/run.ts'), 'utf8').matchAll(/process\.env\.(BENCH_[A-Z_]+)/g)].map((match) => match[1] as string),
);
/** Close codes that `ws` and browsers use on their own, and RFC 6455's 1011 that the websockify endpoint closes with when its target fails. */
const WEBSOCKET_CODES = new Set([1006, 1007, 1009, 1011]);

// ---- reading markdown -------------------------------------------------------------------------------

interface Fence {
  info: string;
  body: string;
  line: number;
}
interface Span {
  text: string;
  line: number;
  /** Where the span starts in `prose`. */
  index: number;
}
interface Doc {
  file: string;
  text: string;
  /** The text with every fenced block blanked out (line numbers kept). */
  prose: string;
  fences: Fence[];
  spans: Span[];
}

function readDoc(file: string): Doc {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const lines = text.split('\n');
  const fences: Fence[] = [];
  const proseLines: string[] = [];
  let open: { marker: string; indent: number; info: string; line: number; body: string[] } | undefined;
  lines.forEach((line, i) => {
    const fence = line.match(/^(\s*)(`{3,}|~{3,})(.*)$/);
    if (open === undefined && fence) {
      open = { marker: fence[2] as string, indent: (fence[1] as string).length, info: (fence[3] as string).trim(), line: i + 1, body: [] };
      proseLines.push('');
    } else if (open !== undefined && fence?.[2]?.startsWith(open.marker) && fence[3]?.trim() === '') {
      fences.push({ info: open.info, body: open.body.join('\n'), line: open.line });
      open = undefined;
      proseLines.push('');
    } else if (open !== undefined) {
      // A block inside a list item is indented as its fence is.
      open.body.push(line.slice(Math.min(open.indent, line.length - line.trimStart().length)));
      proseLines.push('');
    } else proseLines.push(line);
  });
  const prose = proseLines.join('\n');
  const lineOf = (index: number): number => prose.slice(0, index).split('\n').length;
  // A code span may wrap onto the next line, never across a blank one.
  const spans = [...prose.matchAll(/`((?:[^`\n]|\n(?![ \t]*\n))+)`/g)].map((match) => ({
    text: (match[1] as string).replace(/\s*\n\s*/g, ' '),
    line: lineOf(match.index),
    index: match.index,
  }));
  return { file, text, prose, fences, spans };
}

const docs = DOCS.map(readDoc);
const where = (doc: Doc, line: number): string => `${doc.file}:${line}`;

/** GitHub's anchor for a heading. */
const slug = (heading: string): string =>
  heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const anchors = (doc: Doc): Set<string> =>
  new Set([...doc.prose.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map((match) => slug(match[1] as string)));

/** Markdown tables: their header cells and rows of cells, with the line of each row. */
function tables(doc: Doc): Array<{ header: string[]; rows: Array<{ cells: string[]; line: number }> }> {
  const found: Array<{ header: string[]; rows: Array<{ cells: string[]; line: number }> }> = [];
  const lines = doc.prose.split('\n');
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\s*\|/.test(lines[i] as string) || !/^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1] as string)) continue;
    const table = {
      header: cells(lines[i] as string).map((cell) => cell.toLowerCase()),
      rows: [] as Array<{ cells: string[]; line: number }>,
    };
    let j = i + 2;
    for (; j < lines.length && /^\s*\|/.test(lines[j] as string); j++) table.rows.push({ cells: cells(lines[j] as string), line: j + 1 });
    found.push(table);
    i = j;
  }
  return found;
}

/** Every file of the repository (not dependencies, builds or test output), relative to the root. */
function repositoryFiles(): string[] {
  const skip = new Set(['node_modules', 'dist', '.git', '.test-results', 'test-results', 'playwright-report']);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      if (skip.has(entry.name)) continue;
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${path}/`);
        walk(path);
      } else out.push(path);
    }
  };
  walk('');
  return out;
}
const files = repositoryFiles();
const globMatches = (pattern: string): boolean => {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}/?$`);
  return files.some((file) => regex.test(file));
};

// ---- the code's facts ---------------------------------------------------------------------------------

const allSettings = settings();
const byPath = new Map(allSettings.map((setting) => [setting.path.join('.'), setting]));
const leaves = new Map<string, Setting | null>();
for (const setting of allSettings) {
  const leaf = setting.path.at(-1) as string;
  leaves.set(leaf, leaves.has(leaf) ? null : setting);
}
/** The setting a backticked name means: its full path (`jwt.requireJti`) or a leaf only it has (`requireJti`). */
const settingNamed = (name: string): Setting | undefined => byPath.get(name) ?? leaves.get(name) ?? undefined;

/** A config with `value` at the setting's path, complete enough for the schema (a jwt needs its other keys). */
function configWith(setting: Setting, value: unknown): Record<string, unknown> {
  const config: Record<string, unknown> =
    setting.path[0] === 'jwt' ? { jwt: { secret: 'a'.repeat(32), algorithms: ['HS256'], audience: 'docs' } } : {};
  let at = config;
  for (const key of setting.path.slice(0, -1)) {
    at[key] ??= {};
    at = at[key] as Record<string, unknown>;
  }
  at[setting.path.at(-1) as string] = value;
  return config;
}

/** The schema's default of a setting; for a key of an optional object (`jwt`), its default when the object is given. */
function schemaDefault(setting: Setting): unknown {
  if (setting.default !== undefined || setting.path.length === 1) return setting.default;
  try {
    let at: unknown = parseConfig(configWith(setting, undefined));
    for (const key of setting.path) at = (at as Record<string, unknown> | undefined)?.[key];
    return at;
  } catch {
    return undefined;
  }
}

const NUMBER_VALUE = String.raw`(?:-?\d{1,3}(?:,\d{3})+|-?\d+(?:\.\d+)?)(?:\s?(?:ms|s|min|h|KiB|MiB|GiB))?`;
const VALUE = String.raw`(?:\x60[^\x60]+\x60|none|off|${NUMBER_VALUE})`;
const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A stated default read as the setting's own value, or an Error saying why it cannot be. */
function statedValue(setting: Setting, stated: string): unknown {
  const text = stated.trim();
  const fallback = schemaDefault(setting);
  const literal = text.match(/^`([^`]+)`$/);
  if (literal) {
    const value = literal[1] as string;
    return typeof fallback === 'number' ? Number(value) : typeof fallback === 'boolean' ? value === 'true' : value;
  }
  if (text === 'none') return Array.isArray(fallback) ? [] : undefined;
  if (text === 'off') return typeof fallback === 'boolean' ? false : 0;
  const number = text.match(/^(-?[\d,]*\.?\d+) ?(ms|s|min|h|KiB|MiB|GiB)?$/);
  if (!number) return new Error(`"${stated}" is not a value`);
  const amount = Number((number[1] as string).replace(/,/g, ''));
  const unit = number[2];
  const name = setting.path.at(-1) as string;
  if (unit === undefined) return amount;
  if (name.endsWith('Ms') && UNITS[unit] !== undefined && !unit.endsWith('iB')) return amount * (UNITS[unit] as number);
  if (name.endsWith('Sec') && !unit.endsWith('iB') && unit !== 'ms') return (amount * (UNITS[unit] as number)) / 1000;
  if (name.endsWith('Bytes') && unit.endsWith('iB')) return amount * (UNITS[unit] as number);
  return new Error(`"${stated}" has a unit that ${name} is not counted in`);
}

/** Every default a document states in one of the recognised forms. */
function statedDefaults(doc: Doc): Array<{ setting: Setting; stated: string; line: number }> {
  const out: Array<{ setting: Setting; stated: string; line: number }> = [];
  const lineOf = (index: number): number => doc.prose.slice(0, index).split('\n').length;
  // Any run of white space (a line break in a paragraph too) separates the words of a form.
  const forms = [
    new RegExp(String.raw`\x60([\w.]+)\x60\s+\((?:default\s+)?(${VALUE})(?:\s+by\s+default)?(?=[;,)])`, 'g'),
    new RegExp(String.raw`\x60([\w.]+)\x60,\s+(?:default\s+)?(${NUMBER_VALUE})(?=[;,)])`, 'g'),
  ];
  for (const form of forms) {
    for (const match of doc.prose.matchAll(form)) {
      const setting = settingNamed(match[1] as string);
      // A flag in parentheses names the setting's flag, not its value.
      if (setting === undefined || (match[2] as string).startsWith('`--')) continue;
      out.push({ setting, stated: (match[2] as string).replace(/\s+/g, ' '), line: lineOf(match.index) });
    }
  }
  for (const table of tables(doc)) {
    const name = table.header.indexOf('setting');
    const value = table.header.indexOf('default');
    if (name < 0 || value < 0) continue;
    for (const { cells, line } of table.rows) {
      const named = [...(cells[name] as string).matchAll(/`([\w.]+)`/g)].map((match) => settingNamed(match[1] as string));
      const first = named[0];
      if (first === undefined) continue;
      // `a` / `b` / `c` with 300 / 30 / 5 s: the unit after the last value is every value's.
      const parts = (cells[value] as string).split(' / ');
      const unit = (parts.at(-1) as string).match(/ ?(ms|s|min|h|KiB|MiB|GiB)$/)?.[0] ?? '';
      const ofRow = (cells[name] as string).includes(' / ') ? named : [first];
      ofRow.forEach((setting, i) => {
        if (setting === undefined) return;
        const part = (parts[i] ?? parts[0] ?? '').trim();
        out.push({ setting, stated: /[a-zA-Z`]$/.test(part) ? part : `${part}${unit}`, line });
      });
    }
  }
  return out;
}

// ---- the tests --------------------------------------------------------------------------------------

describe('the documents', () => {
  it('link only to files and headings that exist', () => {
    const problems: string[] = [];
    for (const doc of docs) {
      for (const match of doc.prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const target = match[1] as string;
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path === '' ? doc.file : relative(ROOT, join(ROOT, dirname(doc.file), path));
        const line = doc.prose.slice(0, match.index).split('\n').length;
        if (!existsSync(join(ROOT, file))) problems.push(`${where(doc, line)}: ${target} does not exist`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchors(readDoc(file)).has(anchor)) {
          problems.push(`${where(doc, line)}: ${file} has no heading #${anchor}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('name only repository paths and documents that exist', () => {
    const problems: string[] = [];
    const basenames = new Set(files.map((file) => basename(file)));
    const dependencies = new Set(
      files
        .filter((file) => file.endsWith('package.json'))
        .flatMap((file) => {
          const manifest = JSON.parse(readFileSync(join(ROOT, file), 'utf8'));
          return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies });
        }),
    );
    for (const doc of docs) {
      for (const { text, line } of doc.spans) {
        // What a run writes (.test-results/, .cache/) is not in the repository.
        if (/^\.(test-results|cache)\//.test(text)) continue;
        if (/^[\w.*-]+(\/[\w.*-]+)+\/?$/.test(text) && !/^[\d.]+\/\d+$/.test(text)) {
          // A path from the root, or from the document's folder.
          const fromDoc = relative(ROOT, join(ROOT, dirname(doc.file), text));
          if (!globMatches(text.replace(/\/$/, '')) && !globMatches(fromDoc)) problems.push(`${where(doc, line)}: ${text} does not exist`);
        } else if (/^\w[\w-]*(\.[\w-]+)*\.(ts|js|mjs|json|ya?ml|md|conf|sh|html)$/.test(text) || text === 'Dockerfile') {
          if (!basenames.has(text) && !dependencies.has(text)) problems.push(`${where(doc, line)}: no file is named ${text}`);
        }
      }
      for (const match of doc.text.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w-]+\.md)\b/g)) {
        const name = match[1] as string;
        const line = doc.text.slice(0, match.index).split('\n').length;
        const known = name.includes('/')
          ? existsSync(join(ROOT, name)) || existsSync(join(ROOT, dirname(doc.file), name))
          : basenames.has(name);
        if (!known) problems.push(`${where(doc, line)}: ${name} is not in the repository`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('give only config examples that the loader and the schema accept', () => {
    const problems: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'socketgate-docs-'));
    let blocks = 0;
    try {
      for (const doc of docs) {
        for (const fence of doc.fences) {
          const [language, ...words] = fence.info.split(/\s+/);
          if (!['yaml', 'yml', 'json', 'jsonc'].includes(language ?? '') || words.includes('not-config')) continue;
          blocks++;
          const file = join(dir, `block-${blocks}.${language === 'yml' || language === 'yaml' ? 'yaml' : 'json'}`);
          writeFileSync(file, fence.body);
          try {
            parseConfig(readConfigFile(file));
          } catch (error) {
            problems.push(`${where(doc, fence.line)}: ${(error as Error).message}`);
          }
        }
        for (const { text, line } of doc.spans) {
          const match = text.match(/^([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)*): (\S+)$/);
          if (!match) continue;
          const setting = settingNamed(match[1] as string);
          if (setting === undefined) {
            if (!NOT_SETTINGS.has(match[1] as string)) problems.push(`${where(doc, line)}: \`${text}\`: ${match[1]} is not a setting`);
            continue;
          }
          try {
            parseConfig(configWith(setting, parseYaml(match[2] as string)));
          } catch (error) {
            problems.push(`${where(doc, line)}: \`${text}\`: ${(error as Error).message}`);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(problems).toEqual([]);
    expect(blocks).toBeGreaterThan(0);
  });

  it('mention only flags and SOCKETGATE_* variables the gateway has', () => {
    const help = execFileSync(process.execPath, [join(ROOT, 'apps/gateway/bin/socketgate.js'), '--help'], { encoding: 'utf8' });
    const flags = new Set([...help.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((match) => match[1] as string));
    for (const setting of allSettings) expect(flags, 'every setting is in --help').toContain(`--${setting.flag}`);
    const variables = new Set(allSettings.map((setting) => setting.env));
    const example = readFileSync(join(ROOT, 'examples/node-echo.ts'), 'utf8');
    for (const name of EXAMPLE_VARIABLES) expect(example).toContain(`process.env.${name}`);
    const problems: string[] = [];
    const check = (doc: Doc, line: number, flag: string): void => {
      const name = flag.replace(/=.*$/, '');
      if (!flags.has(name) && !OTHER_TOOLS_FLAGS.has(name)) problems.push(`${where(doc, line)}: ${name} is no flag of socketgate`);
    };
    // socketgate, npx socketgate, pnpm exec socketgate, node bin/socketgate.js …
    const command = /(?:^|\s)(?:(?:corepack )?pnpm exec |npx |node (?:apps\/gateway\/)?bin\/)?socketgate(?:\.js)?(?=\s|$)/;
    for (const doc of docs) {
      for (const { text, line } of doc.spans) {
        const words = text.split(/\s+/);
        if (words[0]?.startsWith('--')) check(doc, line, words[0]);
        if (command.test(text)) for (const word of words.filter((w) => /^--\w/.test(w))) check(doc, line, word);
      }
      for (const fence of doc.fences) {
        fence.body.split('\n').forEach((text, i) => {
          if (!command.test(text)) return;
          for (const match of text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) check(doc, fence.line + 1 + i, match[0]);
        });
      }
      for (const match of doc.text.matchAll(/\bSOCKETGATE_[A-Z0-9_]*[A-Z0-9]\b/g)) {
        const line = doc.text.slice(0, match.index).split('\n').length;
        if (!variables.has(match[0]) && !EXAMPLE_VARIABLES.has(match[0]))
          problems.push(`${where(doc, line)}: ${match[0]} is no setting's variable`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("state the schema's defaults", () => {
    const problems: string[] = [];
    let stated = 0;
    for (const doc of docs) {
      for (const { setting, stated: text, line } of statedDefaults(doc)) {
        stated++;
        const value = statedValue(setting, text);
        const name = setting.path.join('.');
        if (value instanceof Error) problems.push(`${where(doc, line)}: ${name}: ${value.message}`);
        else if (JSON.stringify(value) !== JSON.stringify(schemaDefault(setting))) {
          problems.push(`${where(doc, line)}: ${name} is stated as ${text}, its default is ${JSON.stringify(schemaDefault(setting))}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(stated).toBeGreaterThan(40);
  });

  describe('name what the code has', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await createGateway({ tokens: ['docs-test-token'], metricsPort: 0 });
    });
    afterAll(async () => {
      await app.close();
    });

    it('metric names', async () => {
      const names = (await app.socketgate.metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
      const problems: string[] = [];
      for (const doc of docs) {
        for (const { text, line } of doc.spans) {
          const match = text.match(/^(socketgate_[a-z_]+)(\*)?(\{[^}]*\})?$/);
          if (!match) continue;
          const name = match[1] as string;
          const known = match[2] ? names.some((known) => known.startsWith(name)) : names.includes(name);
          if (!known) problems.push(`${where(doc, line)}: no metric ${text}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('close codes, error codes, Qt error names and constants', () => {
      const codes = new Set<number>(Object.values(CloseCode));
      const constants = new Set<string>([
        ...PROTOCOL_ERROR_CODES,
        ...Object.keys(CloseCode),
        ...Object.keys(gatewayExports).filter((name) => name.startsWith('GW_ERR_')),
        ...FOREIGN_CONSTANTS,
        ...BENCH_SWITCHES,
      ]);
      const errors = new Set<string>([...SOCKET_ERROR_NAMES, 'SocketError', 'TypeError', 'RangeError']);
      const problems: string[] = [];
      for (const doc of docs) {
        for (const match of doc.prose.matchAll(/\b(?:close|closes|closed with|code|with) ((?:1|4)\d{3})\b/g)) {
          const line = doc.prose.slice(0, match.index).split('\n').length;
          const code = Number(match[1]);
          if (!codes.has(code) && !WEBSOCKET_CODES.has(code)) problems.push(`${where(doc, line)}: no close code ${code}`);
        }
        for (const { text, line } of doc.spans) {
          if (/^[A-Z][A-Z0-9]+(_[A-Z0-9]+)+$/.test(text) && !text.startsWith('SOCKETGATE_') && !constants.has(text)) {
            problems.push(`${where(doc, line)}: no constant ${text}`);
          }
          if (/^[A-Z]\w*Error$/.test(text) && !errors.has(text)) problems.push(`${where(doc, line)}: no Qt error ${text}`);
        }
      }
      expect(problems).toEqual([]);
    });
  });

  it("list in protocol.md every close code, protocol error code and message type, with the code's values", () => {
    const protocol = docs.find((doc) => doc.file === 'docs/protocol.md') as Doc;
    const found = tables(protocol);
    const column = (header: string[], name: string) =>
      found
        .find((table) => header.every((cell, i) => table.header[i] === cell))
        ?.rows.map(({ cells }) => cells[header.indexOf(name)] ?? '') ?? [];
    const unquote = (cell: string) => cell.replace(/`/g, '');
    const closeCodes = found.find((table) => table.header.join('|') === 'code|name|meaning')?.rows ?? [];
    expect(Object.fromEntries(closeCodes.map(({ cells }) => [unquote(cells[1] as string), Number(cells[0])]))).toEqual(CloseCode);
    expect(column(['code', 'raised for'], 'code').map(unquote).sort()).toEqual([...PROTOCOL_ERROR_CODES].sort());
    const types = (union: unknown) => [...(union as { _zod: { propValues: { type: Set<string> } } })._zod.propValues.type].sort();
    const messageTables = found.filter((table) => table.header.join('|') === 'type|fields|meaning');
    expect(messageTables.map((table) => table.rows.map(({ cells }) => unquote(cells[0] as string)).sort())).toEqual([
      types(ClientMessage),
      types(ServerMessage),
    ]);
  });

  it('quote the size of the SDK bundle its size test measures', async () => {
    const { minifiedBytes, gzippedBytes } = await measureSdkBundle();
    const sockets = await measureSocketBundle();
    const problems: string[] = [];
    let quoted = 0;
    for (const doc of docs) {
      const lineOf = (index: number): number => doc.text.slice(0, index).split('\n').length;
      // The whole SDK's size in KB, and the TCP/UDP app's in bytes.
      for (const match of doc.text.matchAll(/(\d+(?:\.\d+)?) KB gzipped/g)) {
        quoted++;
        if (Math.abs(Number(match[1]) - gzippedBytes / 1024) > 0.1) {
          problems.push(`${where(doc, lineOf(match.index))}: ${match[0]}, the size test measures ${(gzippedBytes / 1024).toFixed(2)} KB`);
        }
      }
      for (const match of doc.text.matchAll(/([\d,]+) bytes gzipped/g)) {
        quoted++;
        if (Number((match[1] as string).replaceAll(',', '')) !== sockets.gzippedBytes) {
          problems.push(`${where(doc, lineOf(match.index))}: ${match[0]}, the TCP/UDP bundle is ${sockets.gzippedBytes} bytes gzipped`);
        }
      }
      for (const match of doc.text.matchAll(/(?:holds|keeps) (?:it|that) (?:under|within) (\d+) KB/g)) {
        if (![SDK_GZIP_LIMIT_BYTES, SOCKET_SDK_GZIP_LIMIT_BYTES].includes(Number(match[1]) * 1024))
          problems.push(
            `${where(doc, lineOf(match.index))}: ${match[0]}, the tests' limits are ${SDK_GZIP_LIMIT_BYTES} and ${SOCKET_SDK_GZIP_LIMIT_BYTES} bytes`,
          );
      }
      for (const match of doc.text.matchAll(/to about (\d+) KB/g)) {
        if (Math.abs(Number(match[1]) - minifiedBytes / 1024) > 0.5) {
          problems.push(`${where(doc, lineOf(match.index))}: ${match[0]}, minified it is ${(minifiedBytes / 1024).toFixed(1)} KB`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(quoted).toBeGreaterThanOrEqual(2);
  });
});
