// web-xgrammar as the benches' peer, in this thread or in a worker thread of its own. Its own thread is the default:
// V8 keeps some assumptions per thread (isolate), and web-xgrammar's WASM memory growing during a long compile
// detaches an ArrayBuffer, which ends V8's ArrayBufferDetaching assumption in that isolate and discards every
// optimized function that relied on it (`node --trace-protector-invalidation` shows it). Sharing the bench's thread,
// that threw away our mask path's code in the middle of the bench (round 21: the burst after web-xgrammar's compile
// of sp_100, round 20's open finding); in a real deployment the two engines never share a V8 isolate.
import { xg, webXgrammarCompiler } from './web-xgrammar.js';
import { qwen, type QwenFixture } from '../../test/structured/qwen-fixture.js';
import { startModuleWorker } from '../../src/threads/start-module-worker.js';

export type PeerPlace = 'own-thread' | 'same-thread';

export interface WebXgrammarPeer {
  readonly place: PeerPlace;
  /** compiles `schema` and keeps it for masks(): ms, or null when web-xgrammar refuses the schema */
  compile(schema: unknown): Promise<number | null>;
  /** the kept grammar's masks along `ids` (µs each; none timed when !timed), then frees it */
  masks(ids: number[], timed: boolean): Promise<number[]>;
  /** frees the kept grammar without masks */
  dispose(): Promise<void>;
  close(): Promise<void>;
}

/** the peer's place from the environment: MASK_BENCH_PEER=same-thread, else its own thread */
export function peerPlaceFromEnv(): PeerPlace {
  const v = process.env.MASK_BENCH_PEER ?? 'own-thread';
  if (v !== 'own-thread' && v !== 'same-thread') throw new Error(`MASK_BENCH_PEER must be own-thread or same-thread, not ${v}`);
  return v;
}

export async function webXgrammarPeer(place: PeerPlace, q: QwenFixture = qwen()): Promise<WebXgrammarPeer> {
  return place === 'same-thread' ? sameThreadPeer(q) : ownThreadPeer();
}

export async function sameThreadPeer(q: QwenFixture): Promise<WebXgrammarPeer> {
  const compiler = await webXgrammarCompiler(q);
  let kept: Awaited<ReturnType<typeof compiler.compileJSONSchema>> | null = null;
  const dispose = async (): Promise<void> => {
    kept?.dispose();
    kept = null;
  };
  return {
    place: 'same-thread',
    async compile(schema) {
      await dispose();
      const t = performance.now();
      try {
        kept = await compiler.compileJSONSchema(JSON.stringify(schema), true, undefined, undefined, false);
      } catch {
        return null;
      }
      return performance.now() - t;
    },
    async masks(ids, timed) {
      if (!kept) throw new Error('web-xgrammar peer: masks() without a compiled grammar');
      const out: number[] = [];
      const m = await xg.GrammarMatcher.createGrammarMatcher(kept);
      for (const id of timed ? ids : []) {
        const t = performance.now();
        await m.getNextTokenBitmask();
        out.push((performance.now() - t) * 1000);
        if (!m.acceptToken(id)) break;
      }
      m.dispose();
      await dispose();
      return out;
    },
    dispose,
    async close() {
      await dispose();
    },
  };
}

/** one request to the peer's thread and its answer (web-xgrammar-thread.ts) */
export type PeerCall = { op: 'compile'; schema: unknown } | { op: 'masks'; ids: number[]; timed: boolean } | { op: 'dispose' };
export type PeerAnswer = { ok: true; value: unknown } | { ok: false; error: string };

async function ownThreadPeer(): Promise<WebXgrammarPeer> {
  const worker = startModuleWorker(import.meta.url, 'web-xgrammar-thread', {}, true);
  const next = (): Promise<PeerAnswer> =>
    new Promise((resolve, reject) => {
      const fail = (e: unknown): void => reject(e instanceof Error ? e : new Error(String(e)));
      worker.once('error', fail);
      worker.once('message', (a: PeerAnswer) => {
        worker.off('error', fail);
        resolve(a);
      });
    });
  const ready = await next();
  if (!ready.ok) throw new Error(`web-xgrammar peer thread: ${ready.error}`);
  // one call at a time: the bench awaits each before the next
  const call = async (c: PeerCall): Promise<unknown> => {
    const answer = next();
    worker.postMessage(c);
    const a = await answer;
    if (!a.ok) throw new Error(`web-xgrammar peer thread: ${a.error}`);
    return a.value;
  };
  return {
    place: 'own-thread',
    compile: async (schema) => (await call({ op: 'compile', schema })) as number | null,
    masks: async (ids, timed) => (await call({ op: 'masks', ids, timed })) as number[],
    dispose: async () => void (await call({ op: 'dispose' })),
    close: async () => void (await worker.terminate()),
  };
}
