// The `usage` object of OpenAI responses (vLLM adds prompt_tokens_details, null without cached-token details).
export interface UsageBody {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: null;
}

export function usageBody(promptTokens: number, completionTokens: number): UsageBody {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens, prompt_tokens_details: null };
}
