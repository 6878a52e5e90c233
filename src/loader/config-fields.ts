// Small typed accessors over a parsed JSON object, so every bad or missing field gets an error naming the field
// and the file it came from.

export type JsonObject = Record<string, unknown>;

export class ConfigFieldReader {
  constructor(
    private readonly obj: JsonObject,
    private readonly source: string,
  ) {}

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  requiredNumber(key: string): number {
    const v = this.obj[key];
    if (v === undefined || v === null) throw new Error(`${this.source}: missing required field "${key}"`);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${this.source}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  requiredInt(key: string): number {
    const v = this.requiredNumber(key);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${this.source}: field "${key}" must be a positive integer, got ${v}`);
    return v;
  }

  optionalNumber(key: string): number | undefined {
    return this.has(key) ? this.requiredNumber(key) : undefined;
  }

  optionalInt(key: string): number | undefined {
    return this.has(key) ? this.requiredInt(key) : undefined;
  }

  optionalBool(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v !== 'boolean') throw new Error(`${this.source}: field "${key}" must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalString(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v !== 'string') throw new Error(`${this.source}: field "${key}" must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalObject(key: string): JsonObject | undefined {
    if (!this.has(key)) return undefined;
    const v = this.obj[key];
    if (typeof v !== 'object' || Array.isArray(v)) {
      throw new Error(`${this.source}: field "${key}" must be an object, got ${JSON.stringify(v)}`);
    }
    return v as JsonObject;
  }

  /** a token id given as a number or a list of numbers (eos_token_id); [] when absent */
  tokenIdList(key: string): number[] {
    if (!this.has(key)) return [];
    const v = this.obj[key];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new Error(`${this.source}: field "${key}" must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
      }
    }
    return list as number[];
  }
}

export function asJsonObject(value: unknown, source: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${source}: expected a JSON object at the top level`);
  }
  return value as JsonObject;
}
