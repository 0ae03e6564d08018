/**
 * Waits until `condition` holds (polled), instead of sleeping a fixed time and hoping: fast when the machine is
 * fast, and a clear failure naming what never happened when it is not.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<void> {
  const { timeoutMs = 20_000, intervalMs = 25, what = String(condition) } = options;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
