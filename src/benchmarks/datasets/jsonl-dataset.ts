// A JSON-lines dataset (vLLM's `custom` format): one `{"prompt": "...", "output_tokens": N}` object per line;
// output_tokens is optional and falls back to --output-len.
import { readFileSync } from 'node:fs';
import type { BenchTokenizer } from '../bench-tokenizer.js';
import type { SampleRequest } from './sample-request.js';

export function loadJsonlDataset(path: string, numPrompts: number, defaultOutputLen: number, tok: BenchTokenizer): SampleRequest[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const requests: SampleRequest[] = [];
  for (let i = 0; i < lines.length && requests.length < numPrompts; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const rec = obj as { prompt?: unknown; output_tokens?: unknown };
    if (typeof rec.prompt !== 'string') throw new Error(`${path}:${i + 1}: field "prompt" must be a string`);
    if (rec.output_tokens !== undefined && !(Number.isInteger(rec.output_tokens) && (rec.output_tokens as number) > 0)) {
      throw new Error(`${path}:${i + 1}: field "output_tokens" must be a positive integer`);
    }
    requests.push({
      prompt: rec.prompt,
      promptLen: tok.encode(rec.prompt).length,
      expectedOutputLen: (rec.output_tokens as number | undefined) ?? defaultOutputLen,
    });
  }
  if (requests.length < numPrompts) throw new Error(`${path} holds ${requests.length} prompts, fewer than --num-prompts ${numPrompts}`);
  return requests;
}
