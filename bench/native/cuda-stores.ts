// Where the CUDA backend (native/cuda/cuda_model.cu) stores activations in the 16-bit storage type, per kind of step,
// for the emulation (emulated-forward.ts). Two kinds of step run different code:
//   - cuBLASLt steps (more than kGemvMaxTokens = 2 tokens, e.g. a prompt): enqueueLayers — the GEMM inputs (norm
//     outputs, attention output, SiLU output) in S, flash prefill's P in S for P·V (one 64-key block at the contexts
//     emulated here, so its running max is the row max), the K/V cache in S; the final norm → LM head input in S
//     unless the step's logit rows go through the fp32-input LM-head GEMV (cuda_model.cu, enqueueForward);
//   - GEMV steps (<= 2 tokens, every decode step of a greedy run): enqueueDecodeLayers — norm outputs, SiLU output and
//     final norm in fp32, the K/V cache in S, the attention output fp32 when the attention kernels can write it.
// Prefill attention Q and the legacy/split-KV/GQA decode kernels' Q and P are fp32 (or split into two 16-bit parts,
// fp32-like): not rounded here. Every kernel is row-local, so each row of a step is emulated on its own with the
// step's stores.
import type { Stores } from './emulated-forward.js';

/** kGemvMaxTokens (native/cuda/kernels.h): steps of more tokens run cuBLASLt */
export const GEMV_MAX_TOKENS = 2;

/** A precision plan: the stores each kind of step rounds. */
export interface StorePlan {
  name: string;
  what: string;
  cublaslt: Stores;
  gemv: Stores;
  /** cuBLASLt steps with <= GEMV_MAX_TOKENS logit rows keep the final norm in fp32 (the LM head's GEMV input) */
  lmHeadGemvF32: boolean;
}

/** the stores a step of `tokens` tokens and `logitRows` logit rows rounds under `plan`; P (flash prefill) only for
 *  rows of 2+ query tokens (one-token rows run the decode kernels): `rowTokens` */
export function storesFor(plan: StorePlan, tokens: number, logitRows: number, rowTokens: number): Stores {
  const s = tokens <= GEMV_MAX_TOKENS ? plan.gemv : plan.cublaslt;
  const final = s.final && !(plan.lmHeadGemvF32 && logitRows <= GEMV_MAX_TOKENS);
  return { ...s, final, attnP: s.attnP && rowTokens >= 2 };
}

const ALL: Stores = { norm: true, kv: true, attnP: true, attnOut: true, act: true, final: true };
const KV_ONLY: Stores = { norm: false, kv: true, attnP: false, attnOut: false, act: false, final: false };
// the GEMV steps' flash prefill tiles (a 2-token row) round P like the cuBLASLt steps' do
const GEMV_AFTER: Stores = { ...KV_ONLY, attnP: true };

/**
 * The code before this branch on the make-test-model models (head dim 16/32: decode tokens run the legacy attention
 * kernel, which wrote only S; with head dim 64/128 the GQA/split-KV decode kernels already wrote fp32).
 */
export const BEFORE: StorePlan = {
  name: 'before',
  what: 'code before this branch: cuBLASLt steps all in S; GEMV steps K/V + attention output (legacy kernel) in S',
  cublaslt: ALL,
  gemv: { ...GEMV_AFTER, attnOut: true },
  lmHeadGemvF32: false,
};

/** This branch: every attention kernel writes fp32 output in GEMV steps; the LM head of <= 2 logit rows takes the
 *  final norm in fp32 in every step (prefill steps included). */
export const AFTER: StorePlan = {
  name: 'after',
  what: 'this branch: GEMV steps K/V only in S; steps with <= 2 logit rows: final norm -> LM head in fp32',
  cublaslt: ALL,
  gemv: GEMV_AFTER,
  lmHeadGemvF32: true,
};

const afterWith = (name: string, what: string, widened: Partial<Stores>): StorePlan => ({
  ...AFTER,
  name,
  what,
  cublaslt: { ...ALL, ...widened },
});

/** the candidates and bounds the emulation compares (which store matters, and what is left) */
export const PLANS: StorePlan[] = [
  BEFORE,
  { ...BEFORE, name: 'gemv-attn-f32', what: 'before + fp32 attention output in GEMV steps', gemv: GEMV_AFTER },
  { ...BEFORE, name: 'lm-head-f32', what: 'before + fp32 final norm -> LM head for <= 2 logit rows', lmHeadGemvF32: true },
  AFTER,
  afterWith('after+prefill-P-f32', 'after + fp32-like P in flash prefill (cuBLASLt steps)', { attnP: false }),
  afterWith('after+prefill-attn-f32', 'after + fp32 attention output in cuBLASLt steps', { attnOut: false }),
  afterWith('after+prefill-norm-f32', 'after + fp32 norm outputs in cuBLASLt steps', { norm: false }),
  afterWith('after+prefill-act-f32', 'after + fp32 SiLU output in cuBLASLt steps', { act: false }),
  afterWith('after+prefill-final-f32', 'after + fp32 final norm in every cuBLASLt step', { final: false }),
  { name: 'kv-only', what: 'bound: only the K/V cache in S, every step', cublaslt: KV_ONLY, gemv: KV_ONLY, lmHeadGemvF32: true },
];
