// Which JSON Schema keywords the engine enforces, which are annotations, and which it refuses (by name).

/** no effect on validity: ignored */
export const ANNOTATION_KEYWORDS = new Set([
  'title', 'description', 'examples', '$comment', 'default', 'deprecated', 'readOnly', 'writeOnly', '$schema',
  '$id', '$anchor', '$dynamicAnchor', '$defs', 'definitions', 'contentMediaType', 'contentEncoding', 'contentSchema',
  '$vocabulary', 'discriminator',
]);

export const SUPPORTED_KEYWORDS = new Set([
  'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'patternProperties', 'items',
  'prefixItems', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'anyOf', 'oneOf', 'allOf', '$ref', 'minProperties',
  'maxProperties', 'uniqueItems', 'dependentRequired', 'dependentSchemas', 'dependencies', 'not',
]);

/** assertion keywords of JSON Schema (any draft) the engine cannot enforce: a schema using them is refused */
export const UNSUPPORTED_KEYWORDS = new Set([
  'if', 'propertyNames', 'contains',
  'unevaluatedItems', 'unevaluatedProperties', '$dynamicRef', '$recursiveRef', 'additionalItems',
]);

export class UnsupportedSchemaError extends Error {
  constructor(
    readonly keyword: string,
    detail: string,
  ) {
    super(`JSON Schema keyword "${keyword}" is not supported: ${detail}`);
  }
}

export type Schema = boolean | Record<string, unknown>;

export function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** the assertion keywords of a schema object (annotations and unknown extension keywords left out) */
export function assertionKeys(s: Record<string, unknown>): string[] {
  return Object.keys(s).filter((k) => SUPPORTED_KEYWORDS.has(k) || UNSUPPORTED_KEYWORDS.has(k));
}

/** refuse unsupported keywords by name (then/else without if and min/maxContains without contains do nothing) */
export function checkKeywords(s: Record<string, unknown>): void {
  for (const k of Object.keys(s)) {
    if (!UNSUPPORTED_KEYWORDS.has(k)) continue;
    if (k === 'if' && !('then' in s) && !('else' in s)) continue;
    if (k === 'additionalItems' && !('items' in s && Array.isArray(s.items))) continue;
    throw new UnsupportedSchemaError(k, 'it cannot be enforced while generating');
  }
  if (s.uniqueItems === true) throw new UnsupportedSchemaError('uniqueItems', 'true cannot be enforced while generating');
}
