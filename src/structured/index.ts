// The structured-output engine's public surface: the engine's GrammarProvider and the vocabulary it needs.
export { createGrammarProvider, StructuredGrammarProvider, type GrammarProviderOptions } from './provider.js';
export { loadTokenVocab, vocabFromTokenizerJson, type TokenVocab } from './token-vocab.js';
export { GrammarMatcher } from './matcher.js';
export { checkTokens, type CheckResult } from './check.js';
export { compileConstraint, constraintHash } from './compile.js';
