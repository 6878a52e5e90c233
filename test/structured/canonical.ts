// Re-serialization of an instance in the form our JSON grammar produces: object properties in the order the
// schema lists them (others after, in their own order). Only follows properties/items/prefixItems/$ref.
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function resolve(schema: unknown, root: unknown, depth = 0): unknown {
  if (depth > 20 || !isObj(schema) || typeof schema.$ref !== 'string' || !schema.$ref.startsWith('#')) return schema;
  let cur: unknown = root;
  for (const part of schema.$ref.slice(2).split('/').filter(Boolean)) {
    if (!isObj(cur) && !Array.isArray(cur)) return schema;
    cur = (cur as Obj)[decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return resolve(cur, root, depth + 1);
}

export function canonicalize(value: Json, schema: unknown, root: unknown = schema): Json {
  const s = resolve(schema, root);
  if (Array.isArray(value)) {
    const prefix = isObj(s) && Array.isArray(s.prefixItems) ? s.prefixItems : [];
    const items = isObj(s) ? s.items : undefined;
    return value.map((v, i) => canonicalize(v, i < prefix.length ? prefix[i] : items, root));
  }
  if (isObj(value)) {
    // properties of the schema and of its allOf branches, in the order our grammar writes them
    const props: Obj = {};
    const collect = (x: unknown) => {
      const r = resolve(x, root);
      if (!isObj(r)) return;
      if (isObj(r.properties)) for (const [k, v] of Object.entries(r.properties)) if (!Object.hasOwn(props, k)) setOwn(props, k, v);
      if (Array.isArray(r.allOf)) r.allOf.forEach(collect);
    };
    collect(s);
    const out: { [k: string]: Json } = {};
    for (const k of Object.keys(props)) if (Object.hasOwn(value, k)) setOwn(out, k, canonicalize(value[k] as Json, props[k], root));
    for (const [k, v] of Object.entries(value)) if (!Object.hasOwn(out, k)) setOwn(out, k, canonicalize(v as Json, undefined, root));
    return out;
  }
  return value;
}

function setOwn(o: Obj, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}
