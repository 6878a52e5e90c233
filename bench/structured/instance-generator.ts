// A plausible instance for a schema, the way a model would fill it in: every declared property, enum/const
// values, short strings, small numbers. Used by the bench to walk "real outputs" through the masks.
type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export function exampleInstance(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!isObj(schema) || depth > 6) return null;
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/')) {
    let cur: unknown = root;
    for (const p of schema.$ref.slice(2).split('/')) cur = isObj(cur) ? cur[decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    return exampleInstance(cur, root, depth + 1);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const k of ['anyOf', 'oneOf'] as const) if (Array.isArray(schema[k])) return exampleInstance(schema[k][0], root, depth + 1);
  const t = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (t) {
    case 'object': {
      const out: Obj = {};
      if (isObj(schema.properties)) for (const [k, v] of Object.entries(schema.properties)) out[k] = exampleInstance(v, root, depth + 1);
      return out;
    }
    case 'array': {
      const n = Math.max(typeof schema.minItems === 'number' ? schema.minItems : 0, Math.min(2, typeof schema.maxItems === 'number' ? schema.maxItems : 2));
      return Array.from({ length: n }, () => exampleInstance(schema.items ?? {}, root, depth + 1));
    }
    case 'integer':
      return typeof schema.minimum === 'number' ? Math.ceil(schema.minimum) : 42;
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 3.25;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      if (schema.format === 'date') return '2024-05-17';
      if (schema.format === 'date-time') return '2024-05-17T10:30:00Z';
      if (schema.format === 'email') return 'ada@example.com';
      if (schema.format === 'uri') return 'https://example.com/a';
      return typeof schema.maxLength === 'number' && schema.maxLength < 20 ? 'abc'.slice(0, Math.max(schema.maxLength, 0)) : 'The quick brown fox — 42 € 😀';
    default:
      return 'value';
  }
}
