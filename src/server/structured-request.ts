// Parses the structured-output request surface (vLLM legacy guided_*, current structured_outputs, OpenAI
// response_format, and forced tool calls) into one StructuredConstraint. More than one kind is a 400, as in vLLM.
import type { StructuredConstraint } from '../engine/types.js';
import { badRequest } from './api-error.js';
import type { StructuredDefaults } from './server-options.js';
import { type GuidedBackend, parseGuidedBackend } from '../config/guided-backend.js';

export interface StructuredFields {
  // (null: the field left out, as vLLM's Optional fields take it)
  guided_json?: unknown;
  guided_regex?: string | null;
  guided_choice?: string[] | null;
  guided_grammar?: string | null;
  guided_whitespace_pattern?: string | null;
  guided_decoding_backend?: string | null;
  structural_tag?: string | null;
  structured_outputs?: {
    json?: unknown;
    regex?: string | null;
    choice?: string[] | null;
    grammar?: string | null;
    json_object?: boolean | null;
    disable_any_whitespace?: boolean | null;
    disable_additional_properties?: boolean | null;
    whitespace_pattern?: string | null;
    disable_fallback?: boolean | null;
    structural_tag?: string | null;
  } | null;
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean | null } | null } | null;
}

function parseSchema(value: unknown, field: string): unknown {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch (e) {
      throw badRequest(`${field} is not valid JSON: ${(e as Error).message}`, field);
    }
  }
  return value;
}

interface Found {
  field: string;
  constraint: StructuredConstraint;
}

/** @param forcedTool the constraint a tool_choice of "required" or a named function implies, if any */
export function parseStructuredOutput(body: StructuredFields, defaults: StructuredDefaults, forcedTool: Found | null = null): StructuredConstraint | undefined {
  let backend: GuidedBackend | null = null;
  if (body.guided_decoding_backend != null) {
    try {
      backend = parseGuidedBackend(body.guided_decoding_backend);
    } catch (e) {
      throw badRequest(`guided_decoding_backend: ${(e as Error).message}`, 'guided_decoding_backend');
    }
  }
  const so = body.structured_outputs;
  for (const [field, tag] of [['structural_tag', body.structural_tag], ['structured_outputs.structural_tag', so?.structural_tag]] as const) {
    if (tag != null) throw badRequest(`${field}: structural tags (xgrammar's) are not supported by serval's structured-output engine`, field);
  }
  const wsPattern = so?.whitespace_pattern ?? body.guided_whitespace_pattern ?? defaults.whitespacePattern;
  // the request's own setting, then its backend's options ("xgrammar:disable-any-whitespace"), then the server's
  const disableAnyWhitespace = so?.disable_any_whitespace ?? backend?.disableAnyWhitespace ?? defaults.disableAnyWhitespace;
  const disableAdditionalProperties = so?.disable_additional_properties ?? backend?.disableAdditionalProperties ?? defaults.disableAdditionalProperties;
  const json = (schema: unknown): StructuredConstraint => {
    const c: StructuredConstraint = { kind: 'json', schema };
    if (wsPattern !== undefined) c.whitespacePattern = wsPattern;
    if (disableAnyWhitespace !== undefined) c.disableAnyWhitespace = disableAnyWhitespace;
    if (disableAdditionalProperties !== undefined) c.disableAdditionalProperties = disableAdditionalProperties;
    return c;
  };
  const jsonObject = (): StructuredConstraint => (disableAnyWhitespace !== undefined ? { kind: 'json_object', disableAnyWhitespace } : { kind: 'json_object' });

  const found: Found[] = [];
  if (body.guided_json != null) found.push({ field: 'guided_json', constraint: json(parseSchema(body.guided_json, 'guided_json')) });
  if (body.guided_regex != null) found.push({ field: 'guided_regex', constraint: { kind: 'regex', pattern: body.guided_regex } });
  if (body.guided_choice != null) found.push({ field: 'guided_choice', constraint: { kind: 'choice', choices: body.guided_choice } });
  if (body.guided_grammar != null) found.push({ field: 'guided_grammar', constraint: { kind: 'grammar', grammar: body.guided_grammar } });
  if (so) {
    if (so.json != null) found.push({ field: 'structured_outputs.json', constraint: json(parseSchema(so.json, 'structured_outputs.json')) });
    if (so.regex != null) found.push({ field: 'structured_outputs.regex', constraint: { kind: 'regex', pattern: so.regex } });
    if (so.choice != null) found.push({ field: 'structured_outputs.choice', constraint: { kind: 'choice', choices: so.choice } });
    if (so.grammar != null) found.push({ field: 'structured_outputs.grammar', constraint: { kind: 'grammar', grammar: so.grammar } });
    if (so.json_object === true) found.push({ field: 'structured_outputs.json_object', constraint: jsonObject() });
  }
  const rf = body.response_format;
  if (rf && rf.type === 'json_object') found.push({ field: 'response_format', constraint: jsonObject() });
  if (rf && rf.type === 'json_schema') {
    const schema = rf.json_schema?.schema;
    if (schema == null) throw badRequest('response_format.json_schema.schema is required when type is "json_schema"', 'response_format.json_schema.schema');
    found.push({ field: 'response_format', constraint: json(schema) });
  }
  if (forcedTool) found.push(forcedTool);
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    throw badRequest(
      `You can only use one kind of structured outputs constraint per request, but several are given: ${found.map((f) => f.field).join(', ')}`,
      found[1].field,
    );
  }
  return found[0].constraint;
}
