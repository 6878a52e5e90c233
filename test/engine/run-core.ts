// Drives an EngineCore to completion and collects each request's outputs (test helper).
import type { EngineCore } from '../../src/engine/engine-core.js';
import type { RequestOptions, RequestOutput, SamplingParams } from '../../src/engine/types.js';

export interface Collected {
  outputs: RequestOutput[];
  error: Error | null;
  final(): RequestOutput;
}

export function submit(core: EngineCore, id: string, prompt: number[] | string, params: SamplingParams, options: RequestOptions = {}, tok?: { encode(s: string): number[] }): Collected {
  const c: Collected = {
    outputs: [],
    error: null,
    final() {
      const last = this.outputs[this.outputs.length - 1];
      if (!last?.finished) throw new Error(`request ${id} did not finish${this.error ? ': ' + this.error.message : ''}`);
      return last;
    },
  };
  const ids = typeof prompt === 'string' ? tok!.encode(prompt) : prompt;
  core.addRequest(id, { prompt: typeof prompt === 'string' ? prompt : null, promptTokenIds: ids }, params, options, {
    emit: (o) => c.outputs.push(o),
    fail: (e) => (c.error = e),
  });
  return c;
}

export async function drain(core: EngineCore, maxSteps = 100000): Promise<number> {
  let steps = 0;
  while (core.hasWork()) {
    if (++steps > maxSteps) throw new Error('engine did not finish');
    await core.step();
  }
  return steps;
}
