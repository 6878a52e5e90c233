// The request fields a route does not know. vLLM accepts them (the OpenAI API grows; clients send fields of newer
// versions) and logs a warning naming them, so that a misspelt field (`guided_jsn`, a constraint silently not applied)
// shows in the log: the server does the same.

/** the body's top-level keys that the route's body schema does not declare (none for a schema without properties) */
export function ignoredFields(body: unknown, schema: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!props) return [];
  return Object.keys(body).filter((k) => !Object.hasOwn(props, k));
}
