// One benchmark request as the datasets produce it (vLLM's SampleRequest).
export interface SampleRequest {
  prompt: string;
  /** prompt length in tokens of the benchmark tokenizer (the server's usage count replaces it when reported) */
  promptLen: number;
  expectedOutputLen: number;
}
