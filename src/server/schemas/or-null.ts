// A request field that also takes null: OpenAI's and vLLM's optional fields, where an explicit null (what the openai
// client sends for None) counts as the field left out.
import { Type, type SchemaOptions, type TSchema } from '@sinclair/typebox';

export function orNull<T extends TSchema>(schema: T, options?: SchemaOptions) {
  return Type.Union([schema, Type.Null()], options);
}
