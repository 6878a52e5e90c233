// SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish for a grace period, then abort
// what is left; shut the engine down and exit 0. A second signal aborts at once.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServingEngine } from '../engine/serving-engine.js';
import type { InflightRequests } from './inflight.js';

export interface ShutdownDeps {
  app: FastifyInstance;
  engine: ServingEngine;
  inflight: InflightRequests;
  log: Logger;
  /** how long in-flight requests may run after the signal */
  graceMs: number;
  exit: (code: number) => void;
  /** extra clean-up (stats timer) */
  onStop?: () => void;
}

export function createShutdown(d: ShutdownDeps): (signal: string) => Promise<void> {
  let stopping: Promise<void> | null = null;
  return (signal: string) => {
    if (stopping) {
      d.log.warn(`${signal} again: aborting ${d.inflight.size} in-flight request(s) now`);
      d.inflight.abortAll();
      return stopping;
    }
    d.log.info(`${signal} received: no new connections; waiting up to ${d.graceMs / 1000}s for ${d.inflight.size} in-flight request(s)`);
    d.onStop?.();
    const timer = setTimeout(() => {
      d.log.warn(`grace period over: aborting ${d.inflight.size} in-flight request(s)`);
      d.inflight.abortAll();
    }, d.graceMs);
    timer.unref();
    stopping = (async () => {
      try {
        const closed = d.app.close();
        await d.inflight.drained();
        clearTimeout(timer);
        // keep-alive connections of finished responses would hold close() open until their idle timeout
        const idle = setInterval(() => d.app.server.closeIdleConnections(), 50);
        d.app.server.closeIdleConnections();
        await closed.finally(() => clearInterval(idle));
        await d.engine.shutdown();
        d.log.info('serval stopped');
        d.exit(0);
      } catch (e) {
        d.log.error({ err: e }, 'error while shutting down');
        d.exit(1);
      }
    })();
    return stopping;
  };
}
