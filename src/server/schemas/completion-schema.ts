// Request schema of POST /v1/completions.
import { Type, type Static } from '@sinclair/typebox';
import { samplingFields } from './sampling-fields.js';

export const PromptSchema = Type.Union(
  [
    Type.String(),
    Type.Array(Type.String(), { minItems: 1 }),
    Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }),
    Type.Array(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 }), { minItems: 1 }),
  ],
  { description: 'text, list of texts, token ids, or list of token-id lists' },
);

export const CompletionRequestSchema = Type.Object(
  {
    prompt: PromptSchema,
    ...samplingFields,
    echo: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    logprobs: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    suffix: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    best_of: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    add_special_tokens: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type CompletionRequest = Static<typeof CompletionRequestSchema>;
