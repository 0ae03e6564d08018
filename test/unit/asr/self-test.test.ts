import { describe, expect, it } from 'vitest';
import { asrOptions } from '../../../src/asr/options.js';
import { checkEngine, formatCheck } from '../../../src/asr/self-test.js';
import { createLogger } from '../../../src/log.js';

describe('engines --check', () => {
  it("says Zoom's transcript cannot be tried before a meeting, without failing the check", async () => {
    const engine = asrOptions.parse({ engine: 'zoom-transcript' });
    const check = await checkEngine(engine, [], ['meetings[0].asr (board)'], createLogger('silent'));
    expect(check.ok).toBe(true);
    expect(formatCheck(check)).toMatch(/^skip zoom-transcript \[meetings\[0\]\.asr \(board\)\]: nothing to try before a meeting: Zoom's transcript comes with each meeting's RTMS stream/);
  });
});
