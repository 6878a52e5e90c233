// Decode step GPU time of a real model shape (dummy weights) over batch rows x context, one graph per exact row count
// (bench/gpu/decode-scaling.ts), written as JSON: the before/after of the tensor-core GQA decode attention
// (bench/native/README.md, "Decode attention at large batch"), run once per addon build in the same device call.
//   node decode-steps.mjs SHAPE OUT.json LABEL ROWS CONTEXTS     e.g. Qwen2.5-7B out.json after 1-9,64,133 512,2048
// ROWS and CONTEXTS are comma lists; a-b is every row count from a to b.
import { writeFileSync } from 'node:fs';
import { runDecodeScaling } from '../gpu/decode-scaling.js';

const tokenizerDir = process.env['SERVAL_TOKENIZER_DIR'];
if (!tokenizerDir) throw new Error('set SERVAL_TOKENIZER_DIR to a folder with tokenizer.json and tokenizer_config.json');
const [shape, out, label, rowsArg, contextsArg] = process.argv.slice(2);
if (!shape || !out || !label || !rowsArg || !contextsArg) throw new Error('usage: decode-steps.mjs SHAPE OUT.json LABEL ROWS CONTEXTS');

/** "1-3,8" -> [1, 2, 3, 8]; throws on anything that is not a positive integer or range */
export function parseList(arg: string): number[] {
  const out: number[] = [];
  for (const part of arg.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`"${part}" is not a positive integer or a range a-b`);
    const a = Number(m[1]), b = Number(m[2] ?? m[1]);
    if (a < 1 || b < a) throw new Error(`"${part}": want 1 <= a <= b`);
    for (let v = a; v <= b; v++) out.push(v);
  }
  return out;
}

const r = await runDecodeScaling(shape, tokenizerDir, parseList(rowsArg), parseList(contextsArg));
writeFileSync(out, JSON.stringify({ shape, label, device: r.device, attention: r.attention, points: r.points }, null, 2) + '\n');
