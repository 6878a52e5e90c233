// Turns @huggingface/hub and network failures into errors that say what to do.
import { HubApiError } from '@huggingface/hub';

export interface HubContext {
  repoId: string;
  revision: string;
  hubUrl: string;
}

export class HubError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'HubError';
  }
}

export function isNetworkFailure(err: unknown): boolean {
  // undici's fetch rejects with a TypeError("fetch failed") whose cause is the socket error
  return err instanceof TypeError && /fetch failed|network/i.test(err.message);
}

export function explainHubError(err: unknown, ctx: HubContext): Error {
  const what = `${ctx.repoId} (revision ${ctx.revision}) on ${ctx.hubUrl}`;
  if (err instanceof HubError) return err;
  if (err instanceof HubApiError) {
    if (err.statusCode === 401 || err.statusCode === 403) {
      return new HubError(`access to ${what} was refused (HTTP ${err.statusCode}): the repository is gated or private; ` +
        'accept its terms on the hub and set HF_TOKEN to an access token that may read it', err.statusCode);
    }
    if (err.statusCode === 404) {
      return new HubError(`${what} was not found (HTTP 404): check the repository id and --revision ` +
        `(branch, tag or commit); there is no local folder of that name either; hub said: ${err.message}`, 404);
    }
    return new HubError(`the hub answered HTTP ${err.statusCode} for ${what}: ${err.message}`, err.statusCode);
  }
  if (isNetworkFailure(err)) {
    const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
    return new HubError(`cannot reach ${ctx.hubUrl} to resolve ${ctx.repoId} (${cause}); set HF_ENDPOINT to a ` +
      'reachable mirror, or HF_HUB_OFFLINE=1 to use only the local cache');
  }
  if (err instanceof TypeError && /access token must start with 'hf_'/.test(err.message)) {
    return new HubError('HF_TOKEN is not a Hugging Face access token (it must start with "hf_")');
  }
  return err instanceof Error ? err : new Error(String(err));
}
