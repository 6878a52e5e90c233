// How a benchmark asks the server for schema-constrained output. `response_format` (OpenAI's json_schema form) is
// understood by OpenAI-compatible servers including serval and vLLM; `guided_json` and `structured_outputs` are
// vLLM's older and newer extra fields, for servers that only take those.
export const STRUCTURED_FIELDS = ['response_format', 'guided_json', 'structured_outputs'] as const;
export type StructuredField = (typeof STRUCTURED_FIELDS)[number];

export function structuredOutputBody(schema: object, field: StructuredField): Record<string, unknown> {
  switch (field) {
    case 'response_format':
      return { response_format: { type: 'json_schema', json_schema: { name: 'benchmark_schema', schema } } };
    case 'guided_json':
      return { guided_json: schema };
    case 'structured_outputs':
      return { structured_outputs: { json: schema } };
    default:
      throw new Error(`unknown --structured-output-field ${String(field)} (expected one of ${STRUCTURED_FIELDS.join(', ')})`);
  }
}
