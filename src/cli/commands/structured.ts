// `serval structured check`: tokenizes texts with the model's tokenizer and walks them through the
// structured-output masks, reporting where (and whether) each is rejected.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { StructuredConstraint } from '../../engine/types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer.js';
import { loadTokenVocab } from '../../structured/token-vocab.js';
import { createGrammarProvider } from '../../structured/provider.js';
import { checkTokens } from '../../structured/check.js';

interface CheckFlags {
  model: string;
  schema?: string;
  regex?: string;
  grammar?: string;
  choice?: string;
  text?: string;
  jsonl?: string;
  json?: boolean;
  compact?: boolean;
  noAdditionalProperties?: boolean;
}

function constraintFrom(f: CheckFlags): StructuredConstraint {
  const given = [f.schema, f.regex, f.grammar, f.choice].filter((x) => x !== undefined).length;
  if (given !== 1) throw new Error('give exactly one of --schema, --regex, --grammar, --choice');
  if (f.schema !== undefined) {
    let schema: unknown;
    try {
      schema = JSON.parse(readFileSync(f.schema, 'utf8'));
    } catch (e) {
      throw new Error(`--schema ${f.schema}: ${(e as Error).message}`);
    }
    return { kind: 'json', schema, disableAnyWhitespace: f.compact === true, disableAdditionalProperties: f.noAdditionalProperties === true };
  }
  if (f.regex !== undefined) return { kind: 'regex', pattern: f.regex };
  if (f.grammar !== undefined) return { kind: 'grammar', grammar: readFileSync(f.grammar, 'utf8') };
  return { kind: 'choice', choices: f.choice!.split(',') };
}

function inputsFrom(f: CheckFlags): string[] {
  if ((f.text === undefined) === (f.jsonl === undefined)) throw new Error('give exactly one of --text, --jsonl');
  if (f.text !== undefined) return [readFileSync(f.text, 'utf8')];
  // one input per non-empty line, used verbatim (a JSON instance per line)
  return readFileSync(f.jsonl!, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

export async function runStructuredCheck(f: CheckFlags, out: (line: string) => void): Promise<boolean> {
  const constraint = constraintFrom(f);
  const inputs = inputsFrom(f);
  const tokenizer = await loadTokenizer(f.model);
  const provider = createGrammarProvider(loadTokenVocab(f.model));
  provider.compile(constraint); // a refused schema fails here, before any input
  let all = true;
  inputs.forEach((text, n) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const r = checkTokens(provider.create(constraint), provider.vocab, ids);
    all &&= r.accepted;
    if (f.json) {
      out(JSON.stringify({ input: n + 1, ...r }));
      return;
    }
    if (r.accepted) out(`#${n + 1}: accepted (${r.tokens} tokens, EOS allowed at the end)`);
    else if (r.firstRejected) {
      const x = r.firstRejected;
      out(`#${n + 1}: rejected at token ${x.index} (id ${x.tokenId} ${JSON.stringify(x.tokenText)}) at byte offset ${x.byteOffset}` + `; the grammar allowed ${x.acceptedBytesOfToken} of its bytes; text before it: ${JSON.stringify(new TextDecoder().decode(new TextEncoder().encode(text).subarray(Math.max(0, x.byteOffset - 40), x.byteOffset)))}`);
    } else out(`#${n + 1}: rejected: all ${r.tokens} tokens allowed but the output is incomplete (EOS not allowed at the end)`);
  });
  return all;
}

export function registerStructuredCommand(program: Command): void {
  const structured = program.command('structured').description('structured output (JSON schema, regex, choice, GBNF) tools');
  structured
    .command('check')
    .description('walk texts through the structured-output masks: accepted or the first rejected token, and whether EOS is allowed')
    .addOption(new Option('--model <dir>', 'model folder (tokenizer.json, config.json)').makeOptionMandatory())
    .option('--schema <file>', 'JSON schema file')
    .option('--regex <pattern>', 'regular expression (ECMAScript syntax) the whole output must match')
    .option('--grammar <file>', 'GBNF grammar file (root rule: root)')
    .option('--choice <a,b,...>', 'comma-separated list of allowed outputs')
    .option('--text <file>', 'one input: the whole file')
    .option('--jsonl <file>', 'one input per non-empty line (used verbatim)')
    .option('--json', 'one JSON line per input')
    .option('--compact', 'JSON schema: no whitespace between tokens (disable_any_whitespace)')
    .option('--no-additional-properties', 'JSON schema: additionalProperties defaults to false')
    .action(async (opts: CheckFlags & { additionalProperties?: boolean }) => {
      try {
        const ok = await runStructuredCheck({ ...opts, noAdditionalProperties: opts.additionalProperties === false }, (l) => console.log(l));
        process.exitCode = ok ? 0 : 1;
      } catch (e) {
        console.error(`serval structured check: ${(e as Error).message}`);
        process.exitCode = 2;
      }
    });
}
