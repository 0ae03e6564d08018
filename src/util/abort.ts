/**
 * A signal that aborts after `ms`, or when `also` aborts; `clear()` ends the timer. Not `AbortSignal.any([
 * AbortSignal.timeout(ms), also])`: Node holds the sources of `any()` weakly, so the timeout signal can be garbage
 * collected before it fires and the request it guards then never times out (nodejs/node#57736; seen here as a
 * `post` that stalled for good on one unanswered POST).
 */
export function deadlineSignal(ms: number, also?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  const follow = (): void => controller.abort(also?.reason);
  if (also?.aborted) follow();
  else also?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      also?.removeEventListener('abort', follow);
    },
  };
}
