import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeZoom, type ZoomFault } from '../helpers/fake-zoom.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function post(args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'post', ...args], { env: { ...process.env, ZOOM_CAPTION_URL: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

let zoom: FakeZoom;
let stateDir: string;
beforeEach(async () => {
  zoom = new FakeZoom();
  stateDir = await mkdtemp(join(tmpdir(), 'cb-post-'));
});
afterEach(async () => {
  await zoom.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe('caption-bridge post (a captioner typing)', () => {
  it('posts each stdin line as one caption in order, through failures, and exits 0', async () => {
    const url = await zoom.start();
    zoom.faults.push({ kind: 'status', status: 503 }, { kind: 'ok' }, { kind: 'accept-then-reset' });
    const run = await post(['--url', url, '--lang', 'de-DE', '--state-dir', stateDir], 'Guten Morgen\n\nzweite Zeile\r\ndritte Zeile\n');
    expect(run.code).toBe(0);
    expect(zoom.accepted.map((c) => [c.seq, c.lang, c.body])).toEqual([
      [1, 'de-DE', 'Guten Morgen'],
      [2, 'de-DE', 'zweite Zeile'],
      [3, 'de-DE', 'dritte Zeile'],
    ]);
    expect(zoom.violations).toEqual([]);
    expect(run.stderr).toContain('3 caption(s) accepted, 0 never reached Zoom');
    expect(run.stderr).not.toContain(zoom.query.signature);

    // A second session continues the seq instead of starting over; the URL from the environment stays out of ps.
    const again = await post(['--state-dir', stateDir], 'vierte\n', { ZOOM_CAPTION_URL: url });
    expect(again.code).toBe(0);
    expect(zoom.accepted.at(-1)).toMatchObject({ seq: 4, body: 'vierte' });
  });

  it('keeps every line of a burst in a POST of its own, delivered however long a flaky Zoom makes them wait', async () => {
    const url = await zoom.start();
    // 60 lines at once to a Zoom that fails 30 % and drops 10 % of requests unanswered (each drop costs a timeout).
    let draw = 7;
    const random = (): number => ((draw = (draw * 48_271) % 2_147_483_647) / 2_147_483_647);
    zoom.faults.push(
      ...Array.from({ length: 400 }, (): ZoomFault => {
        const roll = random();
        if (roll < 0.3) return { kind: 'status' as const, status: 503 };
        if (roll < 0.35) return { kind: 'hang' as const };
        return roll < 0.4 ? { kind: 'accept-then-reset' as const } : { kind: 'ok' as const };
      }),
    );
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`);
    const run = await post(['--url', url, '--state-dir', stateDir], `${lines.join('\n')}\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(zoom.accepted.map((c) => c.body)).toEqual(lines);
    expect(zoom.accepted.map((c) => c.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(zoom.violations).toEqual([]);
  }, 240_000);

  it('exits non-zero with a clear message for a bad URL or a missing --url', async () => {
    const bad = await post(['--url', 'zoom.us/closedcaption?signature=abc'], 'hello\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('caption URL is not a valid URL');
    expect(bad.stderr).not.toContain('signature=abc');
    const cut = await post(['--url', 'https://wmcc.zoom.us/closedcaption?id=200610693&ns=GZHkEA%3D%3D&expire=86400&sparams=id%2Cns%2Cexpire&signa'], 'hello\n');
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('caption URL has no `signature`: it looks cut off');
    const missing = await post([], 'hello\n');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('post needs the Caption URL: set ZOOM_CAPTION_URL');
  });

  it('exits 1 when Zoom never accepts a line', async () => {
    const url = await zoom.start();
    zoom.faults.push(...Array.from({ length: 500 }, () => ({ kind: 'status' as const, status: 500 })));
    const run = await post(['--url', url, '--state-dir', stateDir, '--give-up-after', '3'], 'lost\n');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('0 caption(s) accepted, 1 never reached Zoom');
  });
});
