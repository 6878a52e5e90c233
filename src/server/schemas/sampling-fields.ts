// Request fields shared by /v1/chat/completions and /v1/completions: OpenAI's sampling parameters, vLLM's extras
// (sent at top level, as the openai client's `extra_body` merges them) and the structured-output fields.
import { Type } from '@sinclair/typebox';
import { orNull } from './or-null.js';

const StringOrStrings = Type.Union([Type.String(), Type.Array(Type.String())]);

const JsonSchemaValue = [Type.String(), Type.Object({}, { additionalProperties: true }), Type.Boolean(), Type.Null()];

export const structuredOutputFields = {
  guided_json: Type.Optional(Type.Union(JsonSchemaValue, { description: 'JSON Schema the output must follow (vLLM legacy)' })),
  guided_regex: Type.Optional(orNull(Type.String({ description: 'ECMAScript regex the output must match (vLLM legacy)' }))),
  guided_choice: Type.Optional(orNull(Type.Array(Type.String(), { minItems: 1, description: 'the output is one of these strings (vLLM legacy)' }))),
  guided_grammar: Type.Optional(orNull(Type.String({ description: 'GBNF grammar the output must follow (vLLM legacy)' }))),
  guided_whitespace_pattern: Type.Optional(orNull(Type.String())),
  guided_decoding_backend: Type.Optional(orNull(Type.String())),
  // vLLM's xgrammar structural tags: known here so that a request with one is refused by name, not run unconstrained
  structural_tag: Type.Optional(orNull(Type.String())),
  structured_outputs: Type.Optional(
    orNull(
      Type.Object(
        {
          json: Type.Optional(Type.Union(JsonSchemaValue)),
          regex: Type.Optional(orNull(Type.String())),
          choice: Type.Optional(orNull(Type.Array(Type.String(), { minItems: 1 }))),
          grammar: Type.Optional(orNull(Type.String())),
          json_object: Type.Optional(orNull(Type.Boolean())),
          disable_any_whitespace: Type.Optional(orNull(Type.Boolean())),
          disable_additional_properties: Type.Optional(orNull(Type.Boolean())),
          whitespace_pattern: Type.Optional(orNull(Type.String())),
          disable_fallback: Type.Optional(orNull(Type.Boolean())),
          structural_tag: Type.Optional(orNull(Type.String())),
        },
        // (a member not known here would be dropped unseen: refused by name instead)
        { description: 'vLLM structured outputs: exactly one of json, regex, choice, grammar, json_object', additionalProperties: false },
      ),
    ),
  ),
  response_format: Type.Optional(
    orNull(
      Type.Object({
        type: Type.Union([Type.Literal('text'), Type.Literal('json_object'), Type.Literal('json_schema')]),
        json_schema: Type.Optional(
          orNull(
            Type.Object({
              name: Type.Optional(Type.String()),
              description: Type.Optional(orNull(Type.String())),
              schema: Type.Optional(orNull(Type.Object({}, { additionalProperties: true }))),
              strict: Type.Optional(orNull(Type.Boolean())),
            }),
          ),
        ),
      }),
    ),
  ),
};

export const samplingFields = {
  model: Type.Optional(orNull(Type.String(), { description: 'one of the served model names' })),
  n: Type.Optional(orNull(Type.Integer({ minimum: 1, maximum: 128 }))),
  temperature: Type.Optional(orNull(Type.Number({ minimum: 0 }))),
  top_p: Type.Optional(orNull(Type.Number({ exclusiveMinimum: 0, maximum: 1 }))),
  top_k: Type.Optional(orNull(Type.Integer({ minimum: -1 }))),
  min_p: Type.Optional(orNull(Type.Number({ minimum: 0, maximum: 1 }))),
  repetition_penalty: Type.Optional(orNull(Type.Number({ exclusiveMinimum: 0 }))),
  presence_penalty: Type.Optional(orNull(Type.Number({ minimum: -2, maximum: 2 }))),
  frequency_penalty: Type.Optional(orNull(Type.Number({ minimum: -2, maximum: 2 }))),
  logit_bias: Type.Optional(orNull(Type.Record(Type.String(), Type.Number({ minimum: -100, maximum: 100 })))),
  seed: Type.Optional(orNull(Type.Integer())),
  stop: Type.Optional(orNull(StringOrStrings)),
  stop_token_ids: Type.Optional(orNull(Type.Array(Type.Integer({ minimum: 0 })))),
  include_stop_str_in_output: Type.Optional(Type.Boolean()),
  ignore_eos: Type.Optional(Type.Boolean()),
  min_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
  max_tokens: Type.Optional(orNull(Type.Integer({ minimum: 1 }))),
  skip_special_tokens: Type.Optional(Type.Boolean()),
  spaces_between_special_tokens: Type.Optional(Type.Boolean()),
  allowed_token_ids: Type.Optional(orNull(Type.Array(Type.Integer({ minimum: 0 })))),
  bad_words: Type.Optional(Type.Array(Type.String())),
  truncate_prompt_tokens: Type.Optional(orNull(Type.Integer({ minimum: -1 }), { description: 'keep only the last k prompt tokens (-1: max_model_len)' })),
  prompt_logprobs: Type.Optional(orNull(Type.Integer({ minimum: -1 }))),
  priority: Type.Optional(Type.Integer()),
  cache_salt: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String({ description: 'id for logs and the response (the X-Request-Id header wins)' })),
  user: Type.Optional(orNull(Type.String())),
  return_tokens_as_token_ids: Type.Optional(Type.Boolean()),
  stream: Type.Optional(orNull(Type.Boolean())),
  stream_options: Type.Optional(
    orNull(Type.Object({ include_usage: Type.Optional(Type.Boolean()), continuous_usage_stats: Type.Optional(Type.Boolean()) })),
  ),
  ...structuredOutputFields,
};
