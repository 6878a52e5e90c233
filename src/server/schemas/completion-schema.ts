// Request schema of POST /v1/completions.
import { Type, type Static } from '@sinclair/typebox';
import { orNull } from './or-null.js';
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
    echo: Type.Optional(orNull(Type.Boolean())),
    logprobs: Type.Optional(orNull(Type.Integer({ minimum: 0 }))),
    suffix: Type.Optional(orNull(Type.String())),
    best_of: Type.Optional(orNull(Type.Integer({ minimum: 1 }))),
    add_special_tokens: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type CompletionRequest = Static<typeof CompletionRequestSchema>;
