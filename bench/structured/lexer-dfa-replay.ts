// The process-wide lexer DFA's first-time work alone: the cold masks of cold-mask-breakdown.ts's schemas and outputs
// are computed once while the first use of every call that builds DFA states or transitions is recorded (initial
// per lexeme list, next per unknown transition, selfLoops per state: later uses build nothing); then the same calls
// are replayed on fresh DFAs over the same (built) lexemes, timed, so the construction's cost is measured without
// the masks around it. The replayed DFAs must end with the same states
// and transitions as the recorded one (checked).
// Usage: node --expose-gc --import tsx bench/structured/lexer-dfa-replay.ts [schemasPerSubset=10] [reps=5] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { LexerDfa } from '../../src/structured/lexer-dfa.js';
import { sharedLexer } from '../../src/structured/shared-lexer.js';
import { coldPositions } from './cold-positions.js';

const perSubset = Number(process.argv[2] ?? 10);
const reps = Number(process.argv[3] ?? 5);
const outFile = process.argv[4];

type Call = { k: 'i'; ids: number[] } | { k: 'c'; s: number; b: number } | { k: 'l'; s: number };
/** per DFA (the shared lexer's is created lazily, by the provider's warm-up): its calls from its creation on */
const callsOf = new Map<LexerDfa, Call[]>();
let recordingOn = true;
/** a known transition or -1 (through `trans` rows on versions before round 7, which had no `known`) */
function known(dfa: LexerDfa, s: number, b: number): number {
  const d = dfa as unknown as { known?: (s: number, b: number) => number; trans?: Int32Array[] };
  return d.known ? d.known(s, b) : d.trans![s]![b]!;
}
const asked = new Map<LexerDfa, Set<string>>();
function firstUse(dfa: LexerDfa, name: string, a: unknown[]): boolean {
  if (name === 'next') return known(dfa, a[0] as number, a[1] as number) === -1;
  let seen = asked.get(dfa);
  if (!seen) asked.set(dfa, (seen = new Set()));
  const key = name === 'initial' ? `i${Array.from(a[0] as ArrayLike<number>).join(',')}` : `l${a[0] as number}`;
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}
const proto = LexerDfa.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
const originals: Array<[string, (...a: unknown[]) => unknown]> = [];
for (const [name, rec] of [
  ['initial', (a: unknown[]): Call => ({ k: 'i', ids: Array.from(a[0] as ArrayLike<number>) })],
  ['next', (a: unknown[]): Call | null => ({ k: 'c', s: a[0] as number, b: a[1] as number })],
  ['selfLoops', (a: unknown[]): Call => ({ k: 'l', s: a[0] as number })],
] as const) {
  const orig = proto[name]!;
  originals.push([name, orig]);
  proto[name] = function (this: LexerDfa, ...a: unknown[]) {
    // first uses only (a known transition, initial state or loop answer builds nothing)
    if (recordingOn && firstUse(this, name, a)) {
      let calls = callsOf.get(this);
      if (!calls) callsOf.set(this, (calls = []));
      calls.push(rec(a) as Call);
    }
    return orig.apply(this, a);
  };
}

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const recorded = sharedLexer().dfa;
const statesBefore = recorded.stateCount;
for (const { matcher: m } of coldPositions(provider, q, perSubset)) m.fillNextTokenBitmask(mask, 0);
recordingOn = false;
// the replays call the methods themselves
for (const [name, orig] of originals) proto[name] = orig;
if (sharedLexer().dfa !== recorded) throw new Error('the shared lexer was replaced during the run');
const calls = callsOf.get(recorded)!;
const lexemes = sharedLexer().lexemes;

function replay(): { ms: number; dfa: LexerDfa } {
  const dfa = new LexerDfa(lexemes);
  const t = performance.now();
  for (const c of calls) {
    if (c.k === 'i') dfa.initial(c.ids);
    else if (c.k === 'c') dfa.next(c.s, c.b);
    else dfa.selfLoops(c.s);
  }
  return { ms: performance.now() - t, dfa };
}
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const times: number[] = [];
let last: LexerDfa | null = null;
for (let r = 0; r < reps; r++) {
  (globalThis as { gc?: () => void }).gc?.();
  const { ms, dfa } = replay();
  times.push(ms);
  last = dfa;
}
// exactness: the same states with the same transitions and accepted lexemes as the recorded DFA
let same = last!.stateCount === recorded.stateCount;
for (let s = 0; same && s < recorded.stateCount; s++) {
  for (let x = 0; x < 256; x++) {
    const a = known(recorded, s, x), b = known(last!, s, x);
    if (a !== b && a !== -1 && b !== -1) same = false;
  }
  if (recorded.accepting[s]!.join() !== last!.accepting[s]!.join()) same = false;
}
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  calls: calls.length,
  transitionsAsked: calls.filter((c) => c.k === 'c').length,
  states: last!.stateCount,
  statesBeforeMasks: statesBefore,
  replayMs: times.map((t) => Math.round(t * 10) / 10),
  sameAsRecorded: same,
};
console.log(JSON.stringify(result));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
