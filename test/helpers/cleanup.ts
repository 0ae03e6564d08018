import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

type Stoppable = { stop(): Promise<unknown> | unknown } | { close(): Promise<unknown> | unknown };

/**
 * Stops (or closes) `resource` when the current test ends, passed or failed, so a failing assertion never leaves a
 * server or daemon running into the next test. Explicit stops in the test body stay fine: stop() is safe twice.
 */
export function stopAfterTest<T extends Stoppable>(resource: T): T {
  onTestFinished(async () => {
    await ('stop' in resource ? resource.stop() : resource.close());
  });
  return resource;
}

/** A fresh temporary folder, removed when the current test ends. */
export async function tempDirForTest(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
