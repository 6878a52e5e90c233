// A StructuredConstraint → grammar over lexemes. Each kind has its own front end; all share the machinery.
import { createHash } from 'node:crypto';
import type { StructuredConstraint } from '../engine/types.js';
import { Grammar, GrammarBuilder } from './grammar.js';
import { alt, lit } from './regex-ast.js';
import { parseRegex } from './regex-parser.js';
import { jsonSchemaToGrammar } from './json-schema/to-grammar.js';
import { gbnfToGrammar } from './gbnf.js';

export function compileConstraint(c: StructuredConstraint): Grammar {
  switch (c.kind) {
    case 'json':
      return jsonSchemaToGrammar(c.schema, {
        compactWhitespace: c.disableAnyWhitespace === true,
        disableAdditionalProperties: c.disableAdditionalProperties === true,
        whitespacePattern: c.whitespacePattern,
      });
    case 'json_object':
      return jsonSchemaToGrammar({ type: 'object' }, { compactWhitespace: c.disableAnyWhitespace === true });
    case 'regex': {
      const b = new GrammarBuilder();
      const root = b.choice('regex', [[b.lexeme(parseRegex(c.pattern, { search: false }))]]);
      return b.build(root);
    }
    case 'choice': {
      if (!Array.isArray(c.choices) || c.choices.length === 0 || c.choices.some((x) => typeof x !== 'string')) {
        throw new Error('structured output: choice needs a non-empty list of strings');
      }
      const b = new GrammarBuilder();
      const root = b.choice('choice', [[b.lexeme(alt(c.choices.map(lit)))]]);
      return b.build(root);
    }
    case 'grammar':
      return gbnfToGrammar(c.grammar);
    default:
      throw new Error(`structured output: unknown constraint kind ${JSON.stringify((c as { kind: unknown }).kind)}`);
  }
}

/** a stable hash of the constraint (key order of schema objects matters: property order is part of the grammar) */
export function constraintHash(c: StructuredConstraint): string {
  return createHash('sha256').update(JSON.stringify(c)).digest('hex');
}
