// dependentRequired / dependentSchemas / draft-7 dependencies for the JSON-schema compiler (to-grammar.ts): names
// listed are tracked exactly along an object's property chain where they can be (dependencyTracking), anything
// else is narrowed to objects that never write an optional trigger (withoutDependencies).
import { GrammarError } from '../grammar.js';
import { Schema, isObject } from './keywords.js';
import { mergeSchemas, setOwn } from './merge.js';

/** most names one object's dependentRequired may involve and still be tracked (a bit each in the chain's states) */
const MAX_TRACKED_DEPENDENCIES = 12;

/** draft-7 `dependencies` that only list names, as dependentRequired (merged with one already there); else null */
export function dependenciesAsRequired(s: Record<string, unknown>): Schema | null {
  if ('dependentSchemas' in s || !isObject(s.dependencies)) return null;
  const merged: Record<string, string[]> = isObject(s.dependentRequired) ? { ...(s.dependentRequired as Record<string, string[]>) } : {};
  for (const [k, v] of Object.entries(s.dependencies)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return null;
    setOwn(merged, k, [...new Set([...(merged[k] ?? []), ...(v as string[])])]);
  }
  const out: Record<string, unknown> = { ...s, dependentRequired: merged };
  delete out.dependencies;
  return out;
}

/**
 * The object's dependentRequired as trigger -> names, when the property chain can track it exactly: every name
 * involved is a declared property, there are no pattern properties, and few enough names. null: narrow instead.
 */
export function trackedDependencies(s: Record<string, unknown>): Map<string, string[]> | null {
  const dr = s.dependentRequired;
  if (!isObject(dr)) throw new GrammarError('structured output: dependentRequired must be an object');
  const declared = new Set([...Object.keys(isObject(s.properties) ? s.properties : {}), ...(Array.isArray(s.required) ? (s.required as string[]) : [])]);
  const out = new Map<string, string[]>();
  const involved = new Set<string>();
  for (const [t, names] of Object.entries(dr)) {
    if (!Array.isArray(names) || !names.every((x) => typeof x === 'string')) throw new GrammarError(`structured output: dependentRequired.${t} must list property names`);
    const others = (names as string[]).filter((n) => n !== t);
    if (others.length === 0) continue;
    out.set(t, others);
    for (const n of [t, ...others]) involved.add(n);
  }
  if (isObject(s.patternProperties) && Object.keys(s.patternProperties).length > 0) return null;
  if ([...involved].some((n) => !declared.has(n)) || involved.size > MAX_TRACKED_DEPENDENCIES) return null;
  return out;
}

/**
 * Per position of the property chain (names in order): bit[i] for a name dependencies look at (else 0);
 * requiredBy[i], the triggers before it that require it; needsBefore[i], the names before it that it requires;
 * lookedAtFrom[i], the names whose being written still matters from position i on (states keep only those bits).
 */
export function dependencyTracking(names: string[], dependent: Map<string, string[]>) {
  const n = names.length;
  const pos = new Map(names.map((x, i) => [x, i]));
  const bit = new Array<number>(n + 1).fill(0);
  let next = 0;
  for (const [t, ds] of dependent) for (const x of [t, ...ds]) if (bit[pos.get(x)!] === 0) bit[pos.get(x)!] = 1 << next++;
  const requiredBy = new Array<number>(n + 1).fill(0);
  const needsBefore = new Array<number>(n + 1).fill(0);
  const lookedAtFrom = new Array<number>(n + 2).fill(0);
  for (const [t, ds] of dependent) {
    const ti = pos.get(t)!;
    for (const d of ds) {
      const di = pos.get(d)!;
      if (di > ti) {
        requiredBy[di] |= bit[ti]!;
        for (let i = ti + 1; i <= di; i++) lookedAtFrom[i] |= bit[ti]!;
      } else {
        needsBefore[ti] |= bit[di]!;
        for (let i = di + 1; i <= ti; i++) lookedAtFrom[i] |= bit[di]!;
      }
    }
  }
  return { bit, requiredBy, needsBefore, lookedAtFrom };
}

/**
 * dependentRequired / dependentSchemas (and draft-7 dependencies) without tracking which properties were written:
 * a trigger property that is required brings its dependencies in unconditionally; an optional trigger is never
 * generated. Every accepted object is valid (a subset of the valid ones).
 */
export function withoutDependencies(s: Record<string, unknown>): Schema {
  const depReq: Record<string, unknown> = {};
  const depSchemas: Record<string, unknown> = {};
  const collect = (x: unknown, kind: 'req' | 'schema' | 'either', where: string) => {
    if (x === undefined) return;
    if (!isObject(x)) throw new GrammarError(`structured output: ${where} must be an object`);
    for (const [k, v] of Object.entries(x)) {
      if (Array.isArray(v) && kind !== 'schema') depReq[k] = v;
      else if ((isObject(v) || typeof v === 'boolean') && kind !== 'req') depSchemas[k] = v;
      else throw new GrammarError(`structured output: ${where}.${k} is neither a list of names nor a schema`);
    }
  };
  collect(s.dependentRequired, 'req', 'dependentRequired');
  collect(s.dependentSchemas, 'schema', 'dependentSchemas');
  collect(s.dependencies, 'either', 'dependencies');
  const out: Record<string, unknown> = { ...s };
  delete out.dependentRequired;
  delete out.dependentSchemas;
  delete out.dependencies;
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const props: Record<string, unknown> = isObject(s.properties) ? { ...s.properties } : {};
  let extra: Schema = true;
  // a required trigger can pull in further triggers
  let changed = true;
  while (changed) {
    changed = false;
    for (const [t, deps] of Object.entries(depReq)) {
      if (!required.has(t)) continue;
      for (const d of deps as string[]) if (!required.has(d)) (required.add(d), (changed = true));
    }
  }
  for (const t of new Set([...Object.keys(depReq), ...Object.keys(depSchemas)])) {
    if (required.has(t)) {
      if (t in depSchemas) extra = mergeSchemas(extra, depSchemas[t] as Schema);
    } else Object.defineProperty(props, t, { value: false, enumerable: true, writable: true, configurable: true });
  }
  out.properties = props;
  if (required.size) out.required = [...required];
  return mergeSchemas(out, extra);
}
