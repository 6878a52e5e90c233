// `--config FILE`: a YAML mapping of flag names (without --; dashes or underscores) to values, as vLLM reads it.
// It is turned into command-line flags placed before the user's own, so commander validates both the same way
// and a flag given on the command line wins.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Option } from 'commander';
import { suggestClosest } from './suggest.js';

export class ConfigFileError extends Error {}

function findConfigPath(args: string[]): { path: string | null; rest: string[] } {
  const rest: string[] = [];
  let path: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--config') {
      if (i + 1 >= args.length) throw new ConfigFileError("option '--config <file>' argument missing");
      path = args[++i];
    } else if (a.startsWith('--config=')) {
      path = a.slice('--config='.length);
    } else {
      rest.push(a);
    }
  }
  return { path, rest };
}

function scalarToArg(key: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  throw new ConfigFileError(`config key '${key}': unsupported value ${JSON.stringify(v)}`);
}

/** Returns args with the file's flags inserted first (and --config removed). */
export function expandConfigFile(args: string[], options: readonly Option[]): string[] {
  const { path, rest } = findConfigPath(args);
  if (path === null) return args;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigFileError(`cannot read --config ${path}: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return rest;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigFileError(`--config ${path} must be a YAML mapping of flag names to values`);
  const byName = new Map<string, Option>();
  for (const o of options) if (o.long) byName.set(o.long.slice(2), o);
  const out: string[] = [];
  for (const [rawKey, value] of Object.entries(doc as Record<string, unknown>)) {
    const key = rawKey.replace(/_/g, '-');
    if (key === 'config') throw new ConfigFileError(`--config ${path}: a config file cannot name another config file`);
    const opt = byName.get(key);
    if (!opt || opt.negate) {
      const hint = suggestClosest(key, [...byName.keys()].filter((k) => !byName.get(k)!.negate && k !== 'config'));
      throw new ConfigFileError(`--config ${path}: unknown key '${rawKey}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
    const flag = `--${key}`;
    if (typeof value === 'boolean') {
      if (opt.required || opt.optional) {
        out.push(flag, String(value));
      } else if (value) {
        out.push(flag);
      } else if (byName.has(`no-${key}`)) {
        out.push(`--no-${key}`);
      }
      // a plain switch set to false is its default: nothing to add
      continue;
    }
    if (Array.isArray(value) && opt.variadic) {
      out.push(flag, ...value.map((v) => scalarToArg(rawKey, v)));
    } else if (Array.isArray(value) && key === 'api-key') {
      for (const v of value) out.push(flag, scalarToArg(rawKey, v));
    } else {
      out.push(flag, scalarToArg(rawKey, value));
    }
  }
  return [...out, ...rest];
}
