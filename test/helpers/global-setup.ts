import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const LEFTOVERS = fileURLToPath(new URL('../../scripts/leftover-processes', import.meta.url));

/**
 * Every process the suite starts (daemons, ffmpeg, chromium, workers) inherits a marker; after the last test,
 * passing or failing, any marked process still alive is named, killed, and fails the run.
 */
export default function setup(): () => void {
  const marker = process.env.CAPTION_BRIDGE_RUN ?? `vitest-${randomUUID()}`;
  process.env.CAPTION_BRIDGE_RUN = marker;
  return () => {
    try {
      execFileSync(LEFTOVERS, ['--kill', marker], { stdio: 'inherit' });
    } catch {
      console.error('test run: processes started by the tests were still running afterwards (named above, now killed)');
      process.exitCode = 1;
    }
  };
}
