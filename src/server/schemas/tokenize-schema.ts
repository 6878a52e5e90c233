// Request schemas of POST /tokenize and POST /detokenize (vLLM's shapes).
import { Type, type Static } from '@sinclair/typebox';
import { ChatMessageSchema, ToolSchema } from './chat-schema.js';

export const TokenizeRequestSchema = Type.Union([
  Type.Object({
    model: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    prompt: Type.String(),
    add_special_tokens: Type.Optional(Type.Boolean()),
    return_token_strs: Type.Optional(Type.Boolean()),
  }),
  Type.Object({
    model: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    messages: Type.Array(ChatMessageSchema, { minItems: 1 }),
    add_generation_prompt: Type.Optional(Type.Boolean()),
    continue_final_message: Type.Optional(Type.Boolean()),
    add_special_tokens: Type.Optional(Type.Boolean()),
    return_token_strs: Type.Optional(Type.Boolean()),
    tools: Type.Optional(Type.Union([Type.Array(ToolSchema), Type.Null()])),
  }),
]);
export type TokenizeRequest = Static<typeof TokenizeRequestSchema>;

export const DetokenizeRequestSchema = Type.Object({
  model: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  tokens: Type.Array(Type.Integer({ minimum: 0 })),
});
export type DetokenizeRequest = Static<typeof DetokenizeRequestSchema>;
