// JSON Schema (draft 2020-12) → grammar over lexemes. The accepted text is canonical JSON with flexible but
// bounded whitespace: properties in schema order, strings with JSON.stringify's escapes only, integers without
// fraction or exponent, bounded numbers without exponent. Keywords it cannot enforce are refused by name.
import { createRequire } from 'node:module';
import { Grammar, GrammarBuilder, GrammarError, Sym } from '../grammar.js';
import { RNode, ANY_CHAR, ch, cls, jsonSpelled, lit, rep, seq } from '../regex-ast.js';
import { parseRegex } from '../regex-parser.js';
import { formatRegex, SUPPORTED_FORMATS } from './formats.js';
import { integerRegex, numberRegex, UNBOUNDED_NUMBER, Bounds } from './numbers.js';
import { ALL_TYPES, JsonType, jsonEqual, typeOfValue } from './json-values.js';
import { Schema, UnsupportedSchemaError, assertionKeys, checkKeywords, isObject } from './keywords.js';
import { mergeSchemas, setOwn } from './merge.js';
import { withLength } from './string-length.js';
import { dependenciesAsRequired, dependencyTracking, trackedDependencies, withoutDependencies } from './dependencies.js';

export interface JsonGrammarOptions {
  /** no whitespace between tokens (vLLM disable_any_whitespace) */
  compactWhitespace?: boolean;
  /** additionalProperties defaults to false instead of the spec's true */
  disableAdditionalProperties?: boolean;
  /** regex for the whitespace between tokens (vLLM whitespace_pattern) */
  whitespacePattern?: string;
}

/** most whitespace characters between two tokens: pretty printing fits, endless whitespace does not */
const MAX_WHITESPACE = 64;
/** the largest bound on a count (lengths, items, properties) expanded into the grammar */
const MAX_COUNT = 1000;
/** strings with a larger maxLength are generated at most this long (a subset: never an invalid string) */
export const MAX_STRING_LENGTH = 1000;

const require = createRequire(import.meta.url);
type AjvValidate = ((v: unknown) => boolean) & { errors?: unknown };
interface AjvLike {
  compile(s: unknown): AjvValidate;
}
let ajvInstance: AjvLike | null = null;
function ajv(): AjvLike {
  if (!ajvInstance) {
    const Ajv2020 = require('ajv/dist/2020.js') as { default: new (o: object) => AjvLike };
    const addFormats = require('ajv-formats') as { default: (a: AjvLike) => void };
    ajvInstance = new Ajv2020.default({ strict: false, allErrors: false, validateFormats: true });
    addFormats.default(ajvInstance);
  }
  return ajvInstance;
}

export function jsonSchemaToGrammar(schema: unknown, opts: JsonGrammarOptions = {}): Grammar {
  if (typeof schema === 'string') {
    try {
      schema = JSON.parse(schema);
    } catch {
      throw new GrammarError('structured output: the JSON schema string is not valid JSON');
    }
  }
  if (typeof schema !== 'boolean' && !isObject(schema)) throw new GrammarError('structured output: a JSON schema must be an object or a boolean');
  const c = new SchemaCompiler(schema as Schema, opts);
  const root = c.value(schema as Schema, 0);
  return c.b.build(root);
}

interface Signature {
  types: string[];
  values?: unknown[];
  discriminator?: { name: string; values: unknown[] };
  /** object branches: names that must be present, and (additionalProperties false) the only names allowed */
  required: string[];
  allowed?: string[];
}

class SchemaCompiler {
  readonly b = new GrammarBuilder();
  private readonly memo = new Map<object, number>();
  private readonly wsSym: Sym | null;
  private anyValueSym: number | null = null;
  private readonly normalizing = new Set<object>();
  private readonly punct = new Map<string, Sym>();
  private readonly literalStrings = new Map<string, Sym>();

  constructor(
    private readonly root: Schema,
    private readonly opts: JsonGrammarOptions,
  ) {
    if (opts.compactWhitespace) this.wsSym = null;
    else if (opts.whitespacePattern !== undefined) this.wsSym = this.b.lexeme(parseRegex(opts.whitespacePattern, { search: false }));
    else this.wsSym = this.b.lexeme(rep(cls([0x09, 0x0a, 0x0d, 0x0d, 0x20, 0x20]), 0, MAX_WHITESPACE));
  }

  private get ows(): Sym[] {
    return this.wsSym === null ? [] : [this.wsSym];
  }
  private p(text: string): Sym {
    let s = this.punct.get(text);
    if (s === undefined) {
      s = this.b.lexeme(lit(text));
      this.punct.set(text, s);
    }
    return s;
  }
  /** the string literal `text` (property names and enum strings repeat a lot in large schemas: built once) */
  private stringLiteral(text: string): Sym {
    let s = this.literalStrings.get(text);
    if (s === undefined) {
      s = this.stringLexeme(lit(text));
      this.literalStrings.set(text, s);
    }
    return s;
  }
  private stringLexeme(body: RNode): Sym {
    return this.b.lexeme(seq([ch(0x22), jsonSpelled(body), ch(0x22)]));
  }

  /** the nonterminal for a (sub)schema */
  value(s: Schema, depth: number): number {
    if (depth > 200) throw new UnsupportedSchemaError('$ref', 'schema nesting deeper than 200 levels');
    if (typeof s === 'object') {
      const hit = this.memo.get(s);
      if (hit !== undefined) return hit;
    }
    const nt = this.b.nonterminal('schema');
    if (typeof s === 'object') this.memo.set(s, nt);
    if (s === true) {
      this.b.rule(nt, [this.anyValue()]);
      return nt;
    }
    if (s === false) return nt; // no rules: matches nothing
    if (!isObject(s)) throw new GrammarError(`structured output: invalid schema ${JSON.stringify(s)}`);
    const n = this.normalize(s);
    if (n !== s) {
      this.b.rule(nt, [this.value(n, depth + 1)]);
      return nt;
    }
    checkKeywords(s);
    if (typeof s.$ref === 'string') {
      this.b.rule(nt, [this.value(this.resolveRef(s.$ref), depth + 1)]);
      return nt;
    }
    if ('enum' in s || 'const' in s) {
      for (const v of this.enumValues(s)) this.b.rule(nt, [this.literal(v)]);
      return nt;
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      if (!(key in s)) continue;
      if ('anyOf' in s && 'oneOf' in s) throw new UnsupportedSchemaError('oneOf', 'anyOf and oneOf in the same schema');
      const branches = s[key];
      if (!Array.isArray(branches) || branches.length === 0) throw new GrammarError(`structured output: ${key} must be a non-empty array`);
      const rest: Record<string, unknown> = { ...s };
      delete rest[key];
      const restAsserts = assertionKeys(rest).length > 0;
      const merged = branches.map((br) => (restAsserts ? mergeSchemas(this.normalize(rest), this.normalize(br as Schema)) : (br as Schema)));
      const exclusive = key === 'oneOf' ? this.exclusiveBranches(merged) : merged;
      for (const br of exclusive) this.b.rule(nt, [this.value(br, depth + 1)]);
      return nt;
    }
    for (const t of this.types(s)) {
      const alts = this.typeAlternatives(t, s, depth);
      for (const a of alts) this.b.rule(nt, a);
    }
    return nt;
  }

  /** merge allOf and $ref-with-siblings into one schema object (or return s itself) */
  private normalize(s: Schema): Schema {
    if (!isObject(s)) return s;
    let out: Schema = s;
    if (typeof s.$ref === 'string' && assertionKeys(s).some((k) => k !== '$ref')) {
      const target = this.resolveRef(s.$ref);
      if (typeof target === 'object' && this.normalizing.has(target)) throw new UnsupportedSchemaError('$ref', 'a recursive $ref combined with sibling keywords');
      const rest: Record<string, unknown> = { ...s };
      delete rest.$ref;
      if (typeof target === 'object') this.normalizing.add(target);
      try {
        out = mergeSchemas(this.normalize(target), this.normalize(rest));
      } finally {
        if (typeof target === 'object') this.normalizing.delete(target);
      }
      return out;
    }
    // dependentRequired is kept for objectAlternatives (tracked exactly where it can be), as are draft-7 dependencies
    // that list names; a schema dependency is narrowed (withoutDependencies)
    if ('dependentSchemas' in s || 'dependencies' in s) {
      const listed = dependenciesAsRequired(s);
      return this.normalize(listed ?? withoutDependencies(s));
    }
    if ('not' in s) return this.normalize(withoutNot(s));
    if (Array.isArray(s.allOf)) {
      const rest: Record<string, unknown> = { ...s };
      delete rest.allOf;
      out = rest;
      for (const br of s.allOf as Schema[]) {
        let x = br;
        if (isObject(x) && typeof x.$ref === 'string' && assertionKeys(x).length === 1) {
          const target = this.resolveRef(x.$ref);
          if (typeof target === 'object' && this.normalizing.has(target)) throw new UnsupportedSchemaError('allOf', 'a recursive $ref inside allOf');
          if (typeof target === 'object') this.normalizing.add(target);
          try {
            x = this.normalize(target);
          } finally {
            if (typeof target === 'object') this.normalizing.delete(target);
          }
        } else x = this.normalize(x);
        out = mergeSchemas(out, x);
      }
      return this.normalize(out);
    }
    return out;
  }

  private resolveRef(ref: string): Schema {
    if (!ref.startsWith('#')) throw new UnsupportedSchemaError('$ref', `only local references (#/...) are supported, got ${JSON.stringify(ref)}`);
    if (ref !== '#' && !ref.startsWith('#/')) throw new UnsupportedSchemaError('$ref', `anchor references are not supported (${ref})`);
    let cur: unknown = this.root;
    for (const raw of ref.slice(2).split('/').filter((x, i, a) => !(a.length === 1 && x === ''))) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(cur)) cur = cur[Number(part)];
      else if (isObject(cur)) cur = cur[part];
      else cur = undefined;
      if (cur === undefined) throw new GrammarError(`structured output: $ref ${JSON.stringify(ref)} does not resolve`);
    }
    if (typeof cur !== 'boolean' && !isObject(cur)) throw new GrammarError(`structured output: $ref ${JSON.stringify(ref)} is not a schema`);
    return cur as Schema;
  }

  private types(s: Record<string, unknown>): JsonType[] {
    if (!('type' in s)) return ALL_TYPES;
    const t = s.type;
    const list = Array.isArray(t) ? t : [t];
    for (const x of list) {
      if (!['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'].includes(x as string)) {
        throw new GrammarError(`structured output: unknown type ${JSON.stringify(x)}`);
      }
    }
    // number already covers integers
    return (list.includes('number') ? list.filter((x) => x !== 'integer') : list) as JsonType[];
  }

  /** enum/const values that satisfy the rest of the schema (checked with ajv, so every keyword is honoured) */
  private enumValues(s: Record<string, unknown>): unknown[] {
    let values: unknown[] = 'const' in s ? [s.const] : Array.isArray(s.enum) ? (s.enum as unknown[]) : [];
    if ('const' in s && Array.isArray(s.enum)) values = values.filter((v) => (s.enum as unknown[]).some((e) => jsonEqual(e, v)));
    if (!('enum' in s) && !('const' in s)) return [];
    if ('enum' in s && !Array.isArray(s.enum)) throw new GrammarError('structured output: enum must be an array');
    const rest: Record<string, unknown> = { ...s };
    delete rest.enum;
    delete rest.const;
    const restKeys = assertionKeys(rest);
    if (restKeys.length === 0) return values;
    if (restKeys.length === 1 && restKeys[0] === 'type') {
      // the common case needs no validator: keep the values of the allowed types
      const types = this.types(rest);
      return values.filter((v) => {
        const t = typeOfValue(v);
        return types.includes(t) || (t === 'integer' && types.includes('number'));
      });
    }
    const root = isObject(this.root) ? this.root : {};
    let validate: AjvValidate;
    try {
      validate = ajv().compile({ ...rest, $defs: root.$defs, definitions: root.definitions });
    } catch (e) {
      throw new UnsupportedSchemaError('enum', `its sibling keywords could not be checked (${(e as Error).message})`);
    }
    return values.filter((v) => validate(v));
  }

  /**
   * oneOf branches that no value can match twice. Provably disjoint branches are kept as they are. An object
   * branch overlapping one that requires a property is made disjoint by never writing one of those required
   * properties (a subset of its values); branches that cannot be separated this way are refused.
   */
  private exclusiveBranches(branches: Schema[]): Schema[] {
    const sig = branches.map((b) => this.signature(b));
    const forbid: Array<Set<string> | null> = branches.map(() => new Set<string>());
    for (let i = 0; i < sig.length; i++) {
      for (let j = 0; j < sig.length; j++) {
        if (i === j) continue;
        const a = sig[i]!;
        const c = sig[j]!;
        const overlap = a.types.filter((t) => c.types.includes(t) || (t === 'integer' && c.types.includes('number')) || (t === 'number' && c.types.includes('integer')));
        if (overlap.length === 0) continue;
        if (a.values && c.values && !a.values.some((x) => c.values!.some((y) => jsonEqual(x, y)))) continue;
        if (a.discriminator && c.discriminator && a.discriminator.name === c.discriminator.name) {
          if (!a.discriminator.values.some((x) => c.discriminator!.values.some((y) => jsonEqual(x, y)))) continue;
        }
        const onlyObjects = overlap.every((t) => t === 'object');
        // an object of branch i cannot have a property branch j requires
        if (onlyObjects && a.allowed && c.required.some((n) => !a.allowed!.includes(n))) continue;
        if (onlyObjects && c.allowed && a.required.some((n) => !c.allowed!.includes(n))) continue;
        if (j < i && forbid[j] === null) continue; // branch j was dropped: nothing to separate from
        const name = onlyObjects ? c.required.find((n) => !a.required.includes(n)) : undefined;
        if (name !== undefined) forbid[i]?.add(name);
        else if (onlyObjects && c.required.length > 0) forbid[i] = null; // j's required ⊆ i's: drop i
        else throw new UnsupportedSchemaError('oneOf', `branches ${Math.min(i, j)} and ${Math.max(i, j)} may both match one value (only separable branches are supported)`);
      }
    }
    const out: Schema[] = [];
    branches.forEach((b, i) => {
      const f = forbid[i];
      if (f === null) return;
      if (f.size === 0) return out.push(b);
      const props: Record<string, unknown> = {};
      for (const n of f) setOwn(props, n, false);
      const nb = this.normalize(b);
      // a branch that already allows no other properties needs nothing more
      if (isObject(nb) && nb.additionalProperties === false && !nb.patternProperties && [...f].every((n) => !isObject(nb.properties) || !Object.hasOwn(nb.properties, n))) return out.push(b);
      out.push(mergeSchemas(nb, { properties: props }));
    });
    return out;
  }

  /** what a branch can match, coarsely: types, literal values, a required property with literal values */
  private signature(b: Schema): Signature {
    const s = this.normalize(b);
    if (s === false) return { types: [], required: [] };
    if (s === true) return { types: [...ALL_TYPES], required: [] };
    if (typeof s.$ref === 'string' && assertionKeys(s).length === 1) return this.signature(this.resolveRef(s.$ref));
    const values = 'const' in s ? [s.const] : Array.isArray(s.enum) ? (s.enum as unknown[]) : undefined;
    const types = values ? [...new Set(values.map(typeOfValue))] : 'type' in s ? (Array.isArray(s.type) ? (s.type as string[]) : [s.type as string]) : [...ALL_TYPES];
    let discriminator: { name: string; values: unknown[] } | undefined;
    if (isObject(s.properties) && Array.isArray(s.required)) {
      for (const name of s.required as string[]) {
        const p = s.properties[name];
        if (isObject(p) && ('const' in p || Array.isArray(p.enum))) {
          discriminator = { name, values: 'const' in p ? [p.const] : (p.enum as unknown[]) };
          break;
        }
      }
    }
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const allowed = s.additionalProperties === false && !s.patternProperties ? Object.keys(isObject(s.properties) ? s.properties : {}) : undefined;
    return { types, values, discriminator, required, allowed };
  }

  private typeAlternatives(t: JsonType, s: Record<string, unknown>, depth: number): Sym[][] {
    switch (t) {
      case 'null':
        return [[this.p('null')]];
      case 'boolean':
        return [[this.p('true')], [this.p('false')]];
      case 'integer':
      case 'number':
        return this.numberAlternatives(t, s);
      case 'string': {
        const body = this.stringBody(s);
        return body ? [[this.stringLexeme(body)]] : [];
      }
      case 'array':
        return this.arrayAlternatives(s, depth);
      case 'object':
        return this.objectAlternatives(s, depth);
    }
  }

  private numberAlternatives(t: 'integer' | 'number', s: Record<string, unknown>): Sym[][] {
    const num = (k: string): number | undefined => {
      const v = s[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number') throw new GrammarError(`structured output: ${k} must be a number`);
      return v;
    };
    const bounds: Bounds = { lo: -Infinity, loExclusive: false, hi: Infinity, hiExclusive: false };
    const min = num('minimum');
    const xmin = num('exclusiveMinimum');
    const max = num('maximum');
    const xmax = num('exclusiveMaximum');
    if (min !== undefined) bounds.lo = min;
    if (xmin !== undefined && xmin >= bounds.lo) [bounds.lo, bounds.loExclusive] = [xmin, true];
    if (max !== undefined) bounds.hi = max;
    if (xmax !== undefined && xmax <= bounds.hi) [bounds.hi, bounds.hiExclusive] = [xmax, true];
    const multipleOf = num('multipleOf');
    if (multipleOf !== undefined) {
      if (!(multipleOf > 0)) throw new GrammarError('structured output: multipleOf must be > 0');
      if (!Number.isInteger(multipleOf)) {
        throw new UnsupportedSchemaError('multipleOf', 'only integer multipleOf is supported');
      }
      if (bounds.lo !== -Infinity || bounds.hi !== Infinity) throw new UnsupportedSchemaError('multipleOf', 'together with minimum/maximum');
      // a number that is a multiple of an integer is an integer: accepted in integer form
      if (multipleOf === 1) return [[this.b.lexeme(integerRegex(bounds)!)]];
      if (multipleOf > MAX_COUNT) throw new UnsupportedSchemaError('multipleOf', `above ${MAX_COUNT}`);
      return [[this.multipleOfInteger(multipleOf)]];
    }
    const re = t === 'integer' ? integerRegex(bounds) : numberRegex(bounds);
    return re ? [[this.b.lexeme(re)]] : [];
  }

  /** integers divisible by k: one digit lexeme at a time, the nonterminal tracking the remainder */
  private multipleOfInteger(k: number): Sym {
    const digit = (d: number) => this.b.lexeme(ch(0x30 + d));
    const rem: number[] = [];
    for (let r = 0; r < k; r++) rem.push(this.b.nonterminal(`mod${k}-${r}`));
    for (let r = 0; r < k; r++) {
      if (r === 0) this.b.rule(rem[r]!, []);
      for (let d = 0; d <= 9; d++) this.b.rule(rem[r]!, [digit(d), rem[(r * 10 + d) % k]!]);
    }
    const positive = this.b.nonterminal(`multiple-of-${k}`);
    for (let d = 1; d <= 9; d++) this.b.rule(positive, [digit(d), rem[d % k]!]);
    return this.b.choice(`integer-multiple-of-${k}`, [[digit(0)], [positive], [this.p('-'), positive]]);
  }

  private stringBody(s: Record<string, unknown>): RNode | null {
    const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
    const maxLength = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
    if (minLength > maxLength) return null;
    const hasLength = 'minLength' in s || 'maxLength' in s;
    const parts: RNode[] = [];
    if (typeof s.pattern === 'string') parts.push(parseRegex(s.pattern, { search: true }));
    if (typeof s.format === 'string') {
      const f = formatRegex(s.format);
      if (!f) throw new UnsupportedSchemaError('format', `"${s.format}" (supported: ${SUPPORTED_FORMATS.join(', ')})`);
      parts.push(f);
    }
    if (parts.length > 0) {
      // a pattern beside a format: both, by product construction (compile refuses one too large to build)
      const body: RNode = parts.length > 1 ? { k: 'and', xs: parts } : parts[0]!;
      if (!hasLength) return body;
      const max = Math.min(maxLength, MAX_STRING_LENGTH);
      // cheap exact rewrites first, else the pattern under a character counter
      return withLength(body, minLength, max) ?? { k: 'len', x: body, min: minLength, max };
    }
    if (minLength > MAX_STRING_LENGTH) throw new UnsupportedSchemaError('minLength', `above ${MAX_STRING_LENGTH}`);
    // a longer maxLength is tightened: every string we accept is still valid (documented canonical-form limit)
    return rep(ANY_CHAR, minLength, Math.min(maxLength, MAX_STRING_LENGTH));
  }

  private arrayAlternatives(s: Record<string, unknown>, depth: number): Sym[][] {
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as Schema[]) : [];
    const items: Schema = 'items' in s ? (s.items as Schema) : true;
    if (Array.isArray(items)) throw new UnsupportedSchemaError('items', 'an array of schemas (draft 2019 tuple form; use prefixItems)');
    const minItems = typeof s.minItems === 'number' ? s.minItems : 0;
    let maxItems = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
    if (items === false) maxItems = Math.min(maxItems, prefix.length);
    if (minItems > maxItems) return [];
    if (minItems > MAX_COUNT || (maxItems !== Infinity && maxItems > MAX_COUNT)) throw new UnsupportedSchemaError('maxItems', `a count bound above ${MAX_COUNT}`);
    const elem = (i: number): Sym => this.value(i < prefix.length ? prefix[i]! : items, depth + 1);
    const open = this.p('[');
    const close = this.p(']');
    const comma = this.p(',');
    // rest[k]: after k elements (each followed by whitespace), up to the closing bracket
    const steady = Math.max(prefix.length, minItems, 1);
    const rest: number[] = [];
    const restOf = (k: number): number => {
      if (rest[k] !== undefined) return rest[k]!;
      const nt = this.b.nonterminal(`array-rest-${k}`);
      rest[k] = nt;
      if (k >= steady && maxItems === Infinity) {
        // left recursion keeps the parse state the same for every further element (masks are then cached)
        this.b.rule(nt, []);
        this.b.rule(nt, [nt, comma, ...this.ows, elem(k), ...this.ows]);
        return nt;
      }
      if (k >= minItems) this.b.rule(nt, []);
      if (k < maxItems) this.b.rule(nt, [comma, ...this.ows, elem(k), ...this.ows, restOf(k + 1)]);
      return nt;
    };
    const alts: Sym[][] = [];
    if (minItems === 0) alts.push([open, ...this.ows, close]);
    if (maxItems >= 1) alts.push([open, ...this.ows, elem(0), ...this.ows, restOf(1), close]);
    return alts;
  }

  private objectAlternatives(s: Record<string, unknown>, depth: number): Sym[][] {
    const dependent = 'dependentRequired' in s ? trackedDependencies(s) : new Map<string, string[]>();
    // dependencies this chain cannot track: the narrowing (an optional trigger is never written)
    if (dependent === null) return this.objectAlternatives(this.normalize(withoutDependencies(s)) as Record<string, unknown>, depth);
    const props = isObject(s.properties) ? s.properties : {};
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    let additional: Schema = 'additionalProperties' in s ? (s.additionalProperties as Schema) : this.opts.disableAdditionalProperties ? false : true;
    // a pattern whose schema allows anything constrains nothing: it can be left out exactly
    const patterns = isObject(s.patternProperties) ? Object.entries(s.patternProperties).filter(([, v]) => !isTrivial(v)) : [];
    const names = Object.keys(props);
    for (const r of required) {
      if (!names.includes(r)) {
        // a required property not listed: it must come from the additional/pattern properties
        if (patterns.length) throw new UnsupportedSchemaError('required', `"${r}" is not in properties while patternProperties is used`);
        names.push(r);
      }
    }
    const patternOf = new Map<string, Schema>();
    const schemaOf = (name: string): Schema => {
      const own = Object.hasOwn(props, name) ? (props[name] as Schema) : additional;
      const pat = patternOf.get(name);
      return pat === undefined ? own : mergeSchemas(this.normalize(own), this.normalize(pat));
    };
    const minP = typeof s.minProperties === 'number' ? s.minProperties : 0;
    const maxP = typeof s.maxProperties === 'number' ? s.maxProperties : Infinity;
    if (minP > MAX_COUNT || (maxP !== Infinity && maxP > MAX_COUNT)) throw new UnsupportedSchemaError('maxProperties', `a count bound above ${MAX_COUNT}`);
    // the key and value of any other property
    let extra: Sym[] | null = null;
    if (patterns.length > 0) {
      // other keys would have to be "not matching the pattern", which needs a complement automaton; instead
      // no other keys are generated (a subset of the valid objects: never an invalid one)
      if (additional !== false && !isTrivial(additional)) throw new UnsupportedSchemaError('patternProperties', 'together with a non-trivial additionalProperties schema');
      if (patterns.length > 1) throw new UnsupportedSchemaError('patternProperties', 'more than one pattern');
      const [pattern, sub] = patterns[0]!;
      const re = new RegExp(pattern, 'u');
      // declared properties matching the pattern must satisfy both schemas; pattern keys exclude declared names
      for (const n of names) if (re.test(n)) patternOf.set(n, sub as Schema);
      const keyBody: RNode = names.length ? { k: 'and', xs: [parseRegex(pattern, { search: true }), notOneOf(names)] } : parseRegex(pattern, { search: true });
      extra = [this.stringLexeme(keyBody), ...this.ows, this.p(':'), ...this.ows, this.value(sub as Schema, depth + 1), ...this.ows];
      additional = false;
    } else if (additional !== false) {
      extra = [this.stringLexeme(notOneOf(names)), ...this.ows, this.p(':'), ...this.ows, this.value(additional, depth + 1), ...this.ows];
    }
    if (extra && minP > required.length) {
      // duplicate keys would count twice in the text but once in the parsed object
      throw new UnsupportedSchemaError('minProperties', 'above the number of required properties while additional properties are allowed');
    }
    const comma = this.p(',');
    const cap = maxP !== Infinity ? maxP : Math.max(minP, 1);
    const sep = (c: number): Sym[] => (c === 0 ? [] : [comma, ...this.ows]);
    const deps = dependencyTracking(names, dependent);
    const memo = new Map<string, number>();
    // after(i, c, written): properties i.. to come, c already written (c capped once bounds no longer matter);
    // `written`: which names that dependencies still look at were written (bits of deps.bit)
    const after = (i: number, c: number, written: number): number => {
      const key = `${i}/${c}/${written}`;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      const nt = this.b.nonterminal(`object-${i}-${c}${written ? `-w${written}` : ''}`);
      memo.set(key, nt);
      if (i < names.length) {
        const name = names[i]!;
        const next = (w: number) => w & deps.lookedAtFrom[i + 1]!;
        // left out only if not required, by the schema or by a trigger written before it
        if (!required.includes(name) && !(written & deps.requiredBy[i]!)) this.b.rule(nt, [after(i + 1, c, next(written))]);
        // written only if the names it requires that come before it were written
        if (c < maxP && (written & deps.needsBefore[i]!) === deps.needsBefore[i]) {
          const prop = [this.stringLiteral(name), ...this.ows, this.p(':'), ...this.ows, this.value(schemaOf(name), depth + 1), ...this.ows];
          this.b.rule(nt, [...sep(c), ...prop, after(i + 1, Math.min(c + 1, cap), next(written | deps.bit[i]!))]);
        }
        return nt;
      }
      if (c >= minP) this.b.rule(nt, []);
      if (extra && c < maxP) {
        if (maxP === Infinity && c >= 1) {
          // left recursion: every further property leaves the parse state unchanged
          const more = this.b.nonterminal('object-more');
          this.b.rule(more, []);
          this.b.rule(more, [more, comma, ...this.ows, ...extra]);
          this.b.rule(nt, [comma, ...this.ows, ...extra, more]);
        } else this.b.rule(nt, [...sep(c), ...extra, after(i, Math.min(c + 1, cap), written)]);
      }
      return nt;
    };
    return [[this.p('{'), ...this.ows, after(0, 0, 0), this.p('}')]];
  }

  /** any JSON value */
  private anyValue(): number {
    if (this.anyValueSym !== null) return this.anyValueSym;
    const v = this.b.nonterminal('any');
    this.anyValueSym = v;
    const ows = this.ows;
    const comma = this.p(',');
    const str = this.stringLexeme(rep(ANY_CHAR, 0, Infinity));
    for (const lx of ['null', 'true', 'false']) this.b.rule(v, [this.p(lx)]);
    this.b.rule(v, [this.b.lexeme(UNBOUNDED_NUMBER)]);
    this.b.rule(v, [str]);
    const elems = this.b.nonterminal('any-elements');
    this.b.rule(elems, [v, ...ows]);
    this.b.rule(elems, [elems, comma, ...ows, v, ...ows]);
    this.b.rule(v, [this.p('['), ...ows, this.p(']')]);
    this.b.rule(v, [this.p('['), ...ows, elems, this.p(']')]);
    const members = this.b.nonterminal('any-members');
    const member = [str, ...ows, this.p(':'), ...ows, v, ...ows];
    this.b.rule(members, member);
    this.b.rule(members, [members, comma, ...ows, ...member]);
    this.b.rule(v, [this.p('{'), ...ows, this.p('}')]);
    this.b.rule(v, [this.p('{'), ...ows, members, this.p('}')]);
    return v;
  }

  /** exactly this JSON value, with flexible whitespace inside */
  private literal(v: unknown): Sym {
    if (v === null || typeof v === 'boolean' || typeof v === 'number') return this.p(JSON.stringify(v));
    if (typeof v === 'string') return this.stringLiteral(v);
    const nt = this.b.nonterminal('literal');
    const ows = this.ows;
    const comma = this.p(',');
    const parts: Sym[] = [];
    if (Array.isArray(v)) {
      parts.push(this.p('['), ...ows);
      v.forEach((x, i) => parts.push(...(i ? [comma, ...ows] : []), this.literal(x), ...ows));
      parts.push(this.p(']'));
    } else if (isObject(v)) {
      parts.push(this.p('{'), ...ows);
      Object.entries(v).forEach(([k, x], i) => parts.push(...(i ? [comma, ...ows] : []), this.stringLiteral(k), ...ows, this.p(':'), ...ows, this.literal(x), ...ows));
      parts.push(this.p('}'));
    } else throw new GrammarError(`structured output: ${typeof v} is not a JSON value`);
    this.b.rule(nt, parts);
    return nt;
  }
}

/** any string except the given ones (property names already declared) */
export function notOneOf(names: string[]): RNode {
  return names.length === 0 ? rep(ANY_CHAR, 0, Infinity) : { k: 'notOneOf', names: [...names] };
}

/** a schema every value satisfies (true, or only annotations) */
function isTrivial(s: unknown): boolean {
  return s === true || (isObject(s) && assertionKeys(s).length === 0);
}

/**
 * `not` in the forms that have an exact (or safely narrower) positive equivalent: not {} = nothing, not false =
 * no constraint, not {type} = the other types, not {required: [...]} = an object lacking one of the names.
 */
function withoutNot(s: Record<string, unknown>): Schema {
  const n = s.not;
  const rest: Record<string, unknown> = { ...s };
  delete rest.not;
  if (n === false) return rest;
  if (n === true || (isObject(n) && assertionKeys(n).length === 0)) return false;
  if (!isObject(n)) throw new GrammarError('structured output: not must be a schema');
  const keys = assertionKeys(n);
  if (keys.length === 1 && keys[0] === 'type') {
    const banned = Array.isArray(n.type) ? (n.type as string[]) : [n.type as string];
    const types = ['null', 'boolean', 'object', 'array', 'string', 'integer', 'number'].filter((t) => !banned.includes(t) && !(t === 'integer' && banned.includes('number')));
    // "not integer" leaves non-integral numbers, which have no exact form here: numbers are dropped (narrower)
    const allowed = banned.includes('integer') && !banned.includes('number') ? types.filter((t) => t !== 'number') : types;
    return mergeSchemas(rest, { type: allowed });
  }
  if (keys.length === 1 && keys[0] === 'required' && Array.isArray(n.required) && n.required.length > 0) {
    // only objects can fail `required`; never writing the first name makes it fail
    const props: Record<string, unknown> = {};
    setOwn(props, n.required[0] as string, false);
    return mergeSchemas(rest, { type: 'object', properties: props });
  }
  throw new UnsupportedSchemaError('not', `only not {}, not {type}, not {required} are supported, got ${JSON.stringify(n).slice(0, 80)}`);
}
