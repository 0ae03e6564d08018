import { createRequire } from 'node:module';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

const PROCESS_EVENTS = ['unhandledRejection', 'uncaughtException'] as const;
type Listener = (...args: unknown[]) => void;
const listenersOf = (event: (typeof PROCESS_EVENTS)[number]): Listener[] => process.listeners(event as 'unhandledRejection') as Listener[];

/**
 * Loads a CommonJS module that installs process-wide failure handlers as it loads (Emscripten builds such as
 * speex-resampler abort on any unhandled rejection and rethrow any uncaught exception, and offer the embedder no
 * option against it), then removes what it installed: what a stray failure does is the daemon's decision
 * (`installFailurePolicy`), not a library's.
 */
export function requireWithoutProcessHandlers<T>(specifier: string, from: string): T {
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  try {
    return createRequire(from)(specifier) as T;
  } finally {
    for (const event of PROCESS_EVENTS) {
      for (const listener of listenersOf(event)) if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
}

/**
 * The daemon's one policy for failures nobody handled. A rejected promise nobody awaited is a bug in one piece of
 * work: it is logged loudly and every meeting keeps its captions. An uncaught exception leaves the process in a
 * state nobody knows: it is logged and the process exits, so the supervisor (Kubernetes, Docker) starts a clean one.
 */
export function installFailurePolicy(log: Logger): void {
  process.on('unhandledRejection', (reason) => {
    log.error({ err: errorMessage(reason), stack: reason instanceof Error ? reason.stack : undefined }, 'unhandled rejection (a bug): the daemon keeps running');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: errorMessage(err), stack: err.stack }, 'uncaught exception (a bug): exiting so a clean process can take over');
    log.flush(() => process.exit(70));
    setTimeout(() => process.exit(70), 1_000).unref();
  });
}
