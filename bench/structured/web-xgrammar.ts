// web-xgrammar (XGrammar's WASM build, the benches' peer): its UMD bundle loaded with createRequire (it stays out of
// the esbuild bundles: bundle-structured.sh), and a grammar compiler over the Qwen3 tokenizer, whose tokens it gets
// as tokenizer.json spells them (byte-level).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QWEN_DIR, type QwenFixture } from '../../test/structured/qwen-fixture.js';

const require = createRequire(import.meta.url);
export const xg = require('@mlc-ai/web-xgrammar') as typeof import('@mlc-ai/web-xgrammar');

export async function webXgrammarCompiler(q: QwenFixture): ReturnType<typeof xg.GrammarCompiler.createGrammarCompiler> {
  const tokJson = JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer.json'), 'utf8'));
  const encoded: string[] = new Array(q.vocab.size).fill('');
  for (const [s, id] of Object.entries(tokJson.model.vocab as Record<string, number>)) encoded[id] = s;
  for (const a of tokJson.added_tokens as Array<{ id: number; content: string }>) encoded[a.id] = a.content;
  const info = await xg.TokenizerInfo.createTokenizerInfo(encoded, 'BYTE_LEVEL', false, q.vocab.size, q.vocab.eosIds as number[]);
  return xg.GrammarCompiler.createGrammarCompiler(info, false);
}
