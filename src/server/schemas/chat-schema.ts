// Request schema of POST /v1/chat/completions.
import { Type, type Static } from '@sinclair/typebox';
import { orNull } from './or-null.js';
import { samplingFields } from './sampling-fields.js';

const TextPart = Type.Object({ type: Type.Literal('text'), text: Type.String() });
const AnyPart = Type.Object({ type: Type.String() }, { additionalProperties: true });

export const ToolCallSchema = Type.Object({
  id: Type.Optional(Type.String()),
  type: Type.Optional(Type.Literal('function')),
  function: Type.Object({ name: Type.String(), arguments: Type.Union([Type.String(), Type.Object({}, { additionalProperties: true })]) }),
});

export const ChatMessageSchema = Type.Object(
  {
    role: Type.Union([Type.Literal('system'), Type.Literal('developer'), Type.Literal('user'), Type.Literal('assistant'), Type.Literal('tool')]),
    content: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Union([TextPart, AnyPart])), Type.Null()])),
    name: Type.Optional(Type.String()),
    tool_call_id: Type.Optional(Type.String()),
    tool_calls: Type.Optional(orNull(Type.Array(ToolCallSchema))),
    reasoning_content: Type.Optional(orNull(Type.String())),
  },
  { additionalProperties: true },
);

export const ToolSchema = Type.Object({
  type: Type.Literal('function'),
  function: Type.Object({
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Object({}, { additionalProperties: true })),
    strict: Type.Optional(orNull(Type.Boolean())),
  }),
});

export const ToolChoiceSchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('auto'),
  Type.Literal('required'),
  Type.Object({ type: Type.Literal('function'), function: Type.Object({ name: Type.String() }) }),
]);

export const ChatRequestSchema = Type.Object(
  {
    messages: Type.Array(ChatMessageSchema, { minItems: 1 }),
    ...samplingFields,
    max_completion_tokens: Type.Optional(orNull(Type.Integer({ minimum: 1 }))),
    logprobs: Type.Optional(orNull(Type.Boolean())),
    top_logprobs: Type.Optional(orNull(Type.Integer({ minimum: 0 }))),
    tools: Type.Optional(orNull(Type.Array(ToolSchema))),
    tool_choice: Type.Optional(orNull(ToolChoiceSchema)),
    parallel_tool_calls: Type.Optional(orNull(Type.Boolean())),
    add_generation_prompt: Type.Optional(Type.Boolean()),
    continue_final_message: Type.Optional(Type.Boolean()),
    echo: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
export type ChatRequest = Static<typeof ChatRequestSchema>;
export type ChatMessageIn = Static<typeof ChatMessageSchema>;
export type ToolIn = Static<typeof ToolSchema>;
export type ToolChoiceIn = Static<typeof ToolChoiceSchema>;
