// Walks JSON-Schema-Test-Suite draft2020-12 instances through our JSON grammars and counts outcomes.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StructuredGrammarProvider } from '../../src/structured/provider.js';
import { canonicalize } from './canonical.js';
import { acceptsText } from './walk.js';

export interface SuiteCounts {
  cases: number;
  compiledCases: number;
  unsupportedCases: number;
  unsupportedReasons: Map<string, number>;
  validAccepted: number;
  validNonCanonicalAcceptedAfterReorder: number;
  validRejected: number;
  invalidRejected: number;
  invalidAccepted: string[];
  validRejectedExamples: string[];
}

export function runSuite(dir: string, provider: StructuredGrammarProvider, encode: (t: string) => number[]): SuiteCounts {
  const c: SuiteCounts = {
    cases: 0, compiledCases: 0, unsupportedCases: 0, unsupportedReasons: new Map(), validAccepted: 0,
    validNonCanonicalAcceptedAfterReorder: 0, validRejected: 0, invalidRejected: 0, invalidAccepted: [], validRejectedExamples: [],
  };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const cases = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<{ description: string; schema: unknown; tests: Array<{ description: string; data: never; valid: boolean }> }>;
    for (const cs of cases) {
      c.cases++;
      try {
        provider.compile({ kind: 'json', schema: cs.schema });
      } catch (e) {
        c.unsupportedCases++;
        const msg = (e as Error).message;
        if (!msg) throw new Error(`${file} / ${cs.description}: compile error without a message`);
        const reason = msg.replace(/\(.*$/s, '').slice(0, 90);
        c.unsupportedReasons.set(reason, (c.unsupportedReasons.get(reason) ?? 0) + 1);
        continue;
      }
      c.compiledCases++;
      for (const t of cs.tests) {
        const forms = (v: never) => [JSON.stringify(v), JSON.stringify(v, null, 2)];
        const where = `${file} / ${cs.description} / ${t.description}`;
        const ok = (text: string) => acceptsText(provider.create({ kind: 'json', schema: cs.schema }), text, encode);
        if (t.valid) {
          const direct = forms(t.data).every(ok);
          if (direct) {
            c.validAccepted++;
            continue;
          }
          const canon = canonicalize(t.data, cs.schema) as never;
          if (forms(canon).every(ok)) c.validNonCanonicalAcceptedAfterReorder++;
          else {
            c.validRejected++;
            if (c.validRejectedExamples.length < 400) c.validRejectedExamples.push(`${where}: ${JSON.stringify(t.data).slice(0, 80)}`);
          }
        } else {
          const texts = [...forms(t.data), ...forms(canonicalize(t.data, cs.schema) as never)];
          const bad = texts.find(ok);
          if (bad !== undefined) c.invalidAccepted.push(`${where}: ${bad.slice(0, 120)}`);
          else c.invalidRejected++;
        }
      }
    }
  }
  return c;
}
