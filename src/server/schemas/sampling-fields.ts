// Request fields shared by /v1/chat/completions and /v1/completions: OpenAI's sampling parameters, vLLM's extras
// (sent at top level, as the openai client's `extra_body` merges them) and the structured-output fields.
import { Type, type TSchema } from '@sinclair/typebox';

const StringOrStrings = Type.Union([Type.String(), Type.Array(Type.String())]);

/** a field vLLM declares Optional: an explicit null counts as the field left out (OpenAI clients send None as null) */
const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

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
  model: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'one of the served model names' })),
  n: Type.Optional(orNull(Type.Integer({ minimum: 1, maximum: 128 }))),
  temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()])),
  top_p: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0, maximum: 1 }), Type.Null()])),
  top_k: Type.Optional(Type.Union([Type.Integer({ minimum: -1 }), Type.Null()])),
  min_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
  repetition_penalty: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()])),
  presence_penalty: Type.Optional(Type.Union([Type.Number({ minimum: -2, maximum: 2 }), Type.Null()])),
  frequency_penalty: Type.Optional(Type.Union([Type.Number({ minimum: -2, maximum: 2 }), Type.Null()])),
  logit_bias: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Number({ minimum: -100, maximum: 100 })), Type.Null()])),
  seed: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  stop: Type.Optional(Type.Union([StringOrStrings, Type.Null()])),
  stop_token_ids: Type.Optional(Type.Union([Type.Array(Type.Integer({ minimum: 0 })), Type.Null()])),
  include_stop_str_in_output: Type.Optional(Type.Boolean()),
  ignore_eos: Type.Optional(Type.Boolean()),
  min_tokens: Type.Optional(Type.Integer({ minimum: 0 })),
  max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  skip_special_tokens: Type.Optional(Type.Boolean()),
  spaces_between_special_tokens: Type.Optional(Type.Boolean()),
  allowed_token_ids: Type.Optional(Type.Union([Type.Array(Type.Integer({ minimum: 0 })), Type.Null()])),
  bad_words: Type.Optional(Type.Array(Type.String())),
  truncate_prompt_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: -1 }), Type.Null()], { description: 'keep only the last k prompt tokens (-1: max_model_len)' })),
  prompt_logprobs: Type.Optional(Type.Union([Type.Integer({ minimum: -1 }), Type.Null()])),
  priority: Type.Optional(Type.Integer()),
  cache_salt: Type.Optional(Type.String()),
  request_id: Type.Optional(Type.String({ description: 'id for logs and the response (the X-Request-Id header wins)' })),
  user: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  return_tokens_as_token_ids: Type.Optional(Type.Boolean()),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(
    Type.Union([
      Type.Object({ include_usage: Type.Optional(Type.Boolean()), continuous_usage_stats: Type.Optional(Type.Boolean()) }),
      Type.Null(),
    ]),
  ),
  ...structuredOutputFields,
};
