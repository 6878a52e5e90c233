// allOf (and $ref with sibling keywords) by merging the schemas into one. Only merges that keep the exact meaning
// are done; anything else is refused by name (e.g. additionalProperties relative to different property lists).
import { ANNOTATION_KEYWORDS, Schema, UnsupportedSchemaError, assertionKeys, isObject } from './keywords.js';
import { jsonEqual } from './json-values.js';

const MAX_KEYS = new Set(['minLength', 'minItems', 'minProperties', 'minimum', 'exclusiveMinimum']);
const MIN_KEYS = new Set(['maxLength', 'maxItems', 'maxProperties', 'maximum', 'exclusiveMaximum']);

function typeSet(t: unknown): string[] {
  return Array.isArray(t) ? (t as string[]) : [t as string];
}

function intersectTypes(a: unknown, b: unknown): string[] {
  const bs = typeSet(b);
  const out: string[] = [];
  for (const t of typeSet(a)) {
    if (bs.includes(t)) out.push(t);
    else if (t === 'integer' && bs.includes('number')) out.push('integer');
    else if (t === 'number' && bs.includes('integer')) out.push('integer');
  }
  return [...new Set(out)];
}

function restrictsProperties(s: Record<string, unknown>): boolean {
  const ap = s.additionalProperties;
  const trivial = ap === undefined || ap === true || (isObject(ap) && assertionKeys(ap).length === 0);
  return !trivial || 'patternProperties' in s;
}

export function mergeSchemas(a: Schema, b: Schema): Schema {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  // a closed schema (additionalProperties false) never has other names: the other side's extra properties vanish
  const closed = (s: Record<string, unknown>) => s.additionalProperties === false && !('patternProperties' in s);
  const onlyNamesOf = (s: Record<string, unknown>, keep: Record<string, unknown>): Record<string, unknown> => {
    if (!isObject(s.properties)) return s;
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s.properties)) if (Object.hasOwn(keep, k)) setOwn(props, k, v);
    return { ...s, properties: props };
  };
  const aClosedTo = closed(a) ? (isObject(a.properties) ? a.properties : {}) : null;
  const bClosedTo = closed(b) ? (isObject(b.properties) ? b.properties : {}) : null;
  if (aClosedTo) b = onlyNamesOf(b, aClosedTo);
  if (bClosedTo) a = onlyNamesOf(a, bClosedTo);
  const out: Record<string, unknown> = { ...a };
  // a property whose schema is false only forbids its name: adding it changes no other key's additional-ness
  const named = (s: Record<string, unknown>) => (isObject(s.properties) ? Object.entries(s.properties).filter(([, v]) => v !== false).map(([k]) => k) : []);
  const aProps = isObject(a.properties) ? Object.keys(a.properties) : [];
  const bProps = isObject(b.properties) ? Object.keys(b.properties) : [];
  const aNamed = named(a);
  const bNamed = named(b);
  if ((restrictsProperties(a) && bNamed.some((p) => !aProps.includes(p))) || (restrictsProperties(b) && aNamed.some((p) => !bProps.includes(p)))) {
    throw new UnsupportedSchemaError('allOf', 'additionalProperties/patternProperties combined with properties of another branch');
  }
  if (('prefixItems' in a && 'items' in b) || ('prefixItems' in b && 'items' in a) || ('prefixItems' in a && 'prefixItems' in b)) {
    if (!(jsonEqual(a.prefixItems, b.prefixItems) && jsonEqual(a.items, b.items))) {
      throw new UnsupportedSchemaError('allOf', 'prefixItems combined with items of another branch');
    }
  }
  for (const [k, v] of Object.entries(b)) {
    if (ANNOTATION_KEYWORDS.has(k) && k !== '$defs' && k !== 'definitions') continue;
    if (!Object.hasOwn(out, k)) {
      setOwn(out, k, v);
      continue;
    }
    const av = out[k];
    if (jsonEqual(av, v)) continue;
    if (k === 'type') out.type = intersectTypes(av, v);
    else if (MAX_KEYS.has(k)) out[k] = Math.max(av as number, v as number);
    else if (MIN_KEYS.has(k)) out[k] = Math.min(av as number, v as number);
    else if (k === 'required') out.required = [...new Set([...(av as string[]), ...(v as string[])])];
    else if (k === 'properties' && isObject(av) && isObject(v)) {
      const p: Record<string, unknown> = { ...av };
      for (const [name, sub] of Object.entries(v)) setOwn(p, name, Object.hasOwn(p, name) ? { allOf: [p[name], sub] } : sub);
      out.properties = p;
    } else if (k === 'enum' || k === 'const') {
      const left = k === 'enum' ? (av as unknown[]) : [av];
      const right = k === 'enum' ? (v as unknown[]) : [v];
      out[k] = k === 'enum' ? left.filter((x) => right.some((y) => jsonEqual(x, y))) : av;
      if (k === 'const') out.enum = [av].filter((x) => jsonEqual(x, v));
    } else if ((k === 'additionalProperties' || k === 'items') && (isObject(av) || typeof av === 'boolean') && (isObject(v) || typeof v === 'boolean')) {
      out[k] = { allOf: [av, v] };
    } else if (k === 'uniqueItems') out[k] = av === true || v === true;
    else if (k === '$defs' || k === 'definitions') out[k] = { ...(av as object), ...(v as object) };
    else if (k === 'dependentRequired' && isObject(av) && isObject(v)) {
      // both branches' dependencies hold: per trigger, the union of the names it requires
      const d: Record<string, unknown> = { ...av };
      for (const [t, names] of Object.entries(v)) setOwn(d, t, Object.hasOwn(d, t) ? [...new Set([...(d[t] as string[]), ...(names as string[])])] : names);
      out[k] = d;
    }
    else throw new UnsupportedSchemaError(k, 'different values in several allOf branches cannot be combined');
  }
  return out;
}

/** plain assignment would treat "__proto__" specially */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}
