// tool_choice: "none" (tools only shown to the model), "auto" (Hermes output parsed), "required" and a named
// function (output forced by the structured-output engine: a JSON list of calls, or the named function's
// arguments object).
import type { StructuredConstraint } from '../engine/types.js';
import { badRequest } from './api-error.js';
import type { ToolChoiceIn, ToolIn } from './schemas/chat-schema.js';

export type ToolMode =
  | { kind: 'none' }
  | { kind: 'auto' }
  | { kind: 'required' }
  | { kind: 'named'; name: string };

export function resolveToolMode(tools: ToolIn[] | null | undefined, choice: ToolChoiceIn | null | undefined): ToolMode {
  const hasTools = !!tools && tools.length > 0;
  if (choice === undefined || choice === null) return hasTools ? { kind: 'auto' } : { kind: 'none' };
  if (choice === 'none') return { kind: 'none' };
  if (!hasTools) throw badRequest(`tool_choice "${typeof choice === 'string' ? choice : 'function'}" needs a non-empty "tools" list`, 'tool_choice');
  if (choice === 'auto') return { kind: 'auto' };
  if (choice === 'required') return { kind: 'required' };
  const name = choice.function.name;
  if (!tools!.some((t) => t.function.name === name)) {
    throw badRequest(`tool_choice names the function '${name}', which is not in "tools"`, 'tool_choice');
  }
  return { kind: 'named', name };
}

function parametersOf(t: ToolIn): unknown {
  return t.function.parameters ?? { type: 'object', properties: {} };
}

/** The constraint that enforces a forced tool choice, or null for none/auto. */
export function toolChoiceConstraint(mode: ToolMode, tools: ToolIn[] | null | undefined): { field: string; constraint: StructuredConstraint } | null {
  if (mode.kind === 'named') {
    const tool = tools!.find((t) => t.function.name === mode.name)!;
    return { field: 'tool_choice', constraint: { kind: 'json', schema: parametersOf(tool) } };
  }
  if (mode.kind === 'required') {
    const schema = {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: tools!.map((t) => ({
          type: 'object',
          properties: { name: { type: 'string', enum: [t.function.name] }, parameters: parametersOf(t) },
          required: ['name', 'parameters'],
        })),
      },
    };
    return { field: 'tool_choice', constraint: { kind: 'json', schema } };
  }
  return null;
}
