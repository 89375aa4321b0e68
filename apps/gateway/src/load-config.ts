import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type * as z from 'zod';
import { GatewayConfig } from './config.js';

/** One setting of the schema, flattened: `jwt.secret` is `jwt-secret` and `SOCKETGATE_JWT_SECRET`. */
export interface Setting {
  path: string[];
  flag: string;
  env: string;
  kind: 'string' | 'number' | 'boolean' | 'array' | 'enum';
  itemKind?: 'string' | 'number';
  description: string;
  default: unknown;
  secret: boolean;
}

const SECRETS = new Set(['tokens', 'jwt.secret', 'upstreamProxy']);

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(schema: z.ZodType): { inner: z.ZodType; description: string } {
  let inner = schema;
  let description = schema.description ?? '';
  for (;;) {
    const def = defOf(inner);
    const next = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (next === undefined) break;
    inner = next;
    description ||= inner.description ?? '';
  }
  return { inner, description };
}

/** What a field's own schema gives for a missing value, if it gives anything. */
function ownDefault(field: z.ZodType): unknown {
  const parsed = field.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

const kebab = (text: string): string => text.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (text: string): string => text.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** Every setting of the gateway's schema, with its flag, environment variable and default. */
export function settings(): Setting[] {
  const defaults = GatewayConfig.parse({}) as Record<string, unknown>;
  const out: Setting[] = [];
  const walk = (shape: Record<string, z.ZodType>, prefix: string[], defaultsHere: Record<string, unknown> | undefined): void => {
    for (const [key, field] of Object.entries(shape)) {
      const path = [...prefix, key];
      const { inner, description } = unwrap(field);
      const def = defOf(inner);
      if (def.type === 'object' && def.shape) {
        walk(def.shape, path, defaultsHere?.[key] as Record<string, unknown> | undefined);
        continue;
      }
      const kind =
        def.type === 'array'
          ? 'array'
          : def.type === 'enum'
            ? 'enum'
            : def.type === 'number'
              ? 'number'
              : def.type === 'boolean'
                ? 'boolean'
                : 'string';
      const setting: Setting = {
        path,
        flag: path.map(kebab).join('-'),
        env: `SOCKETGATE_${path.map(snake).join('_')}`,
        kind,
        description,
        // A setting inside an optional section (jwt) has its own default even while the section is absent.
        default: defaultsHere?.[key] ?? ownDefault(field),
        secret: SECRETS.has(path.join('.')),
      };
      if (kind === 'array') setting.itemKind = defOf(unwrap(def.element as z.ZodType).inner).type === 'number' ? 'number' : 'string';
      out.push(setting);
    }
  };
  walk((GatewayConfig as unknown as { shape: Record<string, z.ZodType> }).shape, [], defaults);
  return out;
}

/** Turns text (from the environment or a flag) into the setting's type; the schema then checks it. */
function coerce(setting: Setting, values: string[]): unknown {
  const one = (text: string, kind: Setting['kind'] | 'string' | 'number'): unknown => {
    if (kind === 'number') return text.trim() === '' ? text : Number(text);
    if (kind === 'boolean') return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
    return text;
  };
  if (setting.kind === 'array') {
    const items = values
      .flatMap((value) => value.split(','))
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return items.map((item) => one(item, setting.itemKind ?? 'string'));
  }
  return one(values.at(-1) ?? '', setting.kind);
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1) as string] = value;
}

/** Reads a config file: JSON, or YAML for `.yaml`/`.yml`. */
export function readConfigFile(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8');
  const parsed: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${file}: the config must be an object`);
  return parsed as Record<string, unknown>;
}

/**
 * The effective raw settings: the file, then `SOCKETGATE_*` environment variables, then flags, each
 * overriding the one before. Validation happens after, once, with the schema.
 */
export function layerSettings(
  file: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  flags: Map<string, string[]>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = structuredClone(file);
  for (const setting of settings()) {
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined) setPath(merged, setting.path, coerce(setting, [fromEnv]));
    const fromFlags = flags.get(setting.flag);
    if (fromFlags !== undefined) setPath(merged, setting.path, coerce(setting, fromFlags));
  }
  return merged;
}

/** A URL with its password, if any, replaced. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password === '') return url;
  parsed.password = 'redacted';
  return parsed.href;
}

/** The config with every secret replaced, for printing. */
export function redact(config: GatewayConfig): Record<string, unknown> {
  const copy = structuredClone(config) as Record<string, unknown>;
  if (Array.isArray(copy.tokens)) copy.tokens = copy.tokens.map(() => '[redacted]');
  const jwt = copy.jwt as Record<string, unknown> | undefined;
  if (jwt?.secret !== undefined) jwt.secret = '[redacted]';
  if (typeof copy.upstreamProxy === 'string') copy.upstreamProxy = redactPassword(copy.upstreamProxy);
  const store = copy.store as Record<string, unknown> | undefined;
  if (typeof store?.redis === 'string') store.redis = redactPassword(store.redis);
  return copy;
}

/** `--help` text for every setting, with its default and environment variable. */
export function settingsHelp(): string {
  return settings()
    .map((setting) => {
      const value = setting.kind === 'boolean' ? '' : setting.kind === 'array' ? ' VALUE[,VALUE]' : ' VALUE';
      const shown = setting.secret ? '(none)' : setting.default === undefined ? '(none)' : JSON.stringify(setting.default);
      return `  --${setting.flag}${value}\n      ${setting.description}\n      default ${shown}; env ${setting.env}`;
    })
    .join('\n');
}
