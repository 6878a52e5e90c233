// Bearer API keys on /v1 routes, compared in constant time: both sides are hashed to equal-length digests so
// neither the key's content nor its length leaks through timing, and every key is always compared.
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class ApiKeyChecker {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** true when the Authorization header carries one of the keys */
  check(authorization: string | undefined): boolean {
    const m = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    const given = digest(m ? m[1] : '');
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(given, d) || ok;
    return ok && m !== null;
  }
}

/** vLLM protects the OpenAI routes (/v1/...); health, metrics, version and docs stay open. */
export function requiresApiKey(method: string, path: string): boolean {
  return method !== 'OPTIONS' && (path === '/v1' || path.startsWith('/v1/'));
}
