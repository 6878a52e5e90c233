// Where huggingface_hub's environment variables point: the HF home folder, the access token, offline mode.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface */
export function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
}

/** $HF_TOKEN, else the token `huggingface-cli login` saved ($HF_TOKEN_PATH or $HF_HOME/token) */
export function hfToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN; // the second is an older name huggingface_hub still reads
  if (token) return token.trim();
  const path = env.HF_TOKEN_PATH || join(hfHome(env), 'token');
  const saved = existsSync(path) ? readFileSync(path, 'utf8').trim() : '';
  return saved || undefined;
}

/** $HF_HUB_OFFLINE set to a true value: only the local cache is used */
export function hubOffline(env: NodeJS.ProcessEnv): boolean {
  const value = env.HF_HUB_OFFLINE;
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}
