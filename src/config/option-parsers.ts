// Value parsers for `serval serve` flags. Each throws commander's InvalidArgumentError with a hint of a valid
// value, which commander prints as "option '--x <v>' argument 'bad' is invalid. <hint>".
import { InvalidArgumentError } from 'commander';
import { parseGuidedBackend } from './guided-backend.js';
import { HumanReadableIntError, parseHumanReadableInt } from './human-readable-int.js';
import { checkKvCacheDtype, type KvCacheDtypeArg } from './kv-cache-dtype.js';

export function intParser(min: number, example: string) {
  return (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidArgumentError(`Expected a whole number, e.g. ${example}.`);
    const v = Number(raw);
    if (v < min) throw new InvalidArgumentError(`Must be at least ${min}, e.g. ${example}.`);
    return v;
  };
}

export function fractionParser(example: string) {
  return (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v <= 0 || v > 1) {
      throw new InvalidArgumentError(`Expected a fraction in (0, 1], e.g. ${example}.`);
    }
    return v;
  };
}

export function nonNegativeNumberParser(example: string) {
  return (raw: string): number => {
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`Expected a number >= 0, e.g. ${example}.`);
    return v;
  };
}

export function humanIntParser(raw: string): number | null {
  try {
    const v = parseHumanReadableInt(raw);
    if (v !== null && v < 1) throw new InvalidArgumentError('Must be at least 1 (or -1 / auto to use the model\'s).');
    return v;
  } catch (e) {
    if (e instanceof HumanReadableIntError) throw new InvalidArgumentError(`${e.message}.`);
    throw e;
  }
}

/** repeatable flag: `--api-key a --api-key b` → ['a', 'b'] */
export function collect(raw: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), raw];
}

/** vLLM takes CORS lists as JSON (`'["*"]'`); a comma-separated list is accepted too */
export function stringListParser(raw: string): string[] {
  const s = raw.trim();
  if (s.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch {
      throw new InvalidArgumentError(`Expected a JSON list of strings, e.g. '["http://localhost:3000"]'.`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new InvalidArgumentError(`Expected a JSON list of strings, e.g. '["http://localhost:3000"]'.`);
    }
    return v;
  }
  return s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
}

export function jsonObjectParser(example: string) {
  return (raw: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new InvalidArgumentError(`Expected a JSON object, e.g. '${example}'.`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`Expected a JSON object, e.g. '${example}'.`);
    return v as Record<string, unknown>;
  };
}

/** --kv-cache-dtype: a value serval does not implement (fp8...) is refused by name */
export function kvCacheDtypeParser(raw: string): KvCacheDtypeArg {
  try {
    return checkKvCacheDtype(raw);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}

/** --guided-decoding-backend: a vLLM backend name, optionally with options after a colon (guided-backend.ts) */
export function guidedBackendParser(raw: string): string {
  try {
    parseGuidedBackend(raw);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
  return raw;
}
