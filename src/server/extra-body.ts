// A request body that carries an `extra_body` object (a raw HTTP client copying the openai client's argument):
// its fields count as top-level fields, as the openai client would have sent them. Ignoring it would run the
// request without, say, its guided_json; a field given both ways with different values is refused (a null one counts
// as left out).
import { ApiError } from './api-error.js';

export function mergeExtraBody(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('extra_body' in body)) return;
  const top = body as Record<string, unknown>;
  const extra = top.extra_body;
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new ApiError(400, 'extra_body must be an object of request fields (the openai client sends them at top level)', 'extra_body');
  }
  for (const [key, value] of Object.entries(extra)) {
    // null is a field left out (vLLM's Optional fields): it neither conflicts with nor replaces a value given the other way
    if (value === null) {
      if (!(key in top)) top[key] = value;
      continue;
    }
    if (key in top && top[key] !== null && JSON.stringify(top[key]) !== JSON.stringify(value)) {
      throw new ApiError(400, `${key} is given both at top level and in extra_body, with different values`, `extra_body.${key}`);
    }
    top[key] = value;
  }
  delete top.extra_body;
}
