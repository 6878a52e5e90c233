// Messages between the TokenizerPool (main thread) and its encode workers (encode-worker.ts).

/** workerData: the folder the main tokenizer was loaded from (loadTokenizer reads the same files there) */
export interface EncodeWorkerInit {
  dir: string;
}

/** what the worker's tokenizer says about itself once loaded; the pool checks it against the main tokenizer's */
export interface TokenizerFingerprint {
  size: number;
  eosTokenId: number | null;
  bosTokenId: number | null;
  padTokenId: number | null;
}

export interface EncodeJobMessage {
  type: 'encode';
  jobId: number;
  texts: string[];
  addSpecialTokens: boolean;
}

export type EncodeWorkerMessage =
  | { type: 'ready'; fingerprint: TokenizerFingerprint }
  | { type: 'load-failed'; message: string }
  /**
   * every text's ids back to back in `ids` (text i has `lengths[i]` of them), both transferred, not copied;
   * a text that failed to encode has length 0 and its message in `errors`
   */
  | { type: 'encoded'; jobId: number; ids: Int32Array; lengths: Uint32Array; errors: Array<{ index: number; message: string }> };
