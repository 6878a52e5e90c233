// Request schemas of POST /tokenize and POST /detokenize (vLLM's shapes).
import { Type, type Static } from '@sinclair/typebox';
import { orNull } from './or-null.js';
import { ChatMessageSchema, ToolSchema } from './chat-schema.js';

export const TokenizeRequestSchema = Type.Union([
  Type.Object({
    model: Type.Optional(orNull(Type.String())),
    prompt: Type.String(),
    add_special_tokens: Type.Optional(Type.Boolean()),
    return_token_strs: Type.Optional(Type.Boolean()),
  }),
  Type.Object({
    model: Type.Optional(orNull(Type.String())),
    messages: Type.Array(ChatMessageSchema, { minItems: 1 }),
    add_generation_prompt: Type.Optional(Type.Boolean()),
    continue_final_message: Type.Optional(Type.Boolean()),
    add_special_tokens: Type.Optional(Type.Boolean()),
    return_token_strs: Type.Optional(Type.Boolean()),
    tools: Type.Optional(orNull(Type.Array(ToolSchema))),
  }),
]);
export type TokenizeRequest = Static<typeof TokenizeRequestSchema>;

export const DetokenizeRequestSchema = Type.Object({
  model: Type.Optional(orNull(Type.String())),
  tokens: Type.Array(Type.Integer({ minimum: 0 })),
});
export type DetokenizeRequest = Static<typeof DetokenizeRequestSchema>;
