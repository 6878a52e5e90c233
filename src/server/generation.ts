// Runs one engine request for an HTTP request: the request is aborted in the engine as soon as the client goes
// away (the reply socket closes before the response is complete), and tracked for shutdown.
import type { FastifyReply } from 'fastify';
import type { PromptInput } from '../engine/serving-engine.js';
import type { RequestOptions, RequestOutput, SamplingParams } from '../engine/types.js';
import type { ServerEngine } from './server-engine.js';
import type { InflightRequests } from './inflight.js';

export async function* generateForReply(
  engine: ServerEngine,
  inflight: InflightRequests,
  reply: FastifyReply,
  prompt: PromptInput,
  params: SamplingParams,
  requestId: string,
  options: RequestOptions,
): AsyncGenerator<RequestOutput> {
  let finished = false;
  const onClose = (): void => {
    if (!finished && !reply.raw.writableFinished) {
      reply.log.info({ requestId }, 'client disconnected; aborting request');
      engine.abort(requestId);
    }
  };
  reply.raw.on('close', onClose);
  inflight.add(requestId);
  try {
    for await (const out of engine.generate(prompt, params, requestId, options)) {
      if (out.finished) finished = true;
      yield out;
    }
  } finally {
    if (!finished) engine.abort(requestId);
    finished = true;
    reply.raw.off('close', onClose);
    inflight.delete(requestId);
  }
}

/** Pulls the first item so that errors raised when the request starts (bad schema, engine stopped) can still be
 * answered with a status code before a stream begins. */
export interface PeekedIterable<T> extends AsyncIterable<T> {
  /** ends the source without reading it (when the response is abandoned before streaming) */
  close(): Promise<void>;
}

export async function peekFirst<T>(it: AsyncIterator<T>): Promise<PeekedIterable<T>> {
  const first = await it.next();
  return {
    async close() {
      await it.return?.();
    },
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      let done = false;
      try {
        yield first.value;
        for (;;) {
          const r = await it.next();
          if (r.done) {
            done = true;
            return;
          }
          yield r.value;
        }
      } finally {
        if (!done) await it.return?.();
      }
    },
  };
}

/** Interleaves several async iterables (one per prompt of a batched completion), tagging each item with its source. */
export async function* mergeTagged<T>(sources: AsyncIterable<T>[]): AsyncGenerator<{ source: number; value: T }> {
  const iters = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ source: number; r: IteratorResult<T> }>>();
  const pull = (i: number): void => {
    pending.set(i, iters[i].next().then((r) => ({ source: i, r })));
  };
  iters.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { source, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(source);
        continue;
      }
      pull(source);
      yield { source, value: r.value };
    }
  } finally {
    for (const [i] of pending) void iters[i].return?.();
  }
}
