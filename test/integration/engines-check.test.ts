import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAssemblyAi } from '../helpers/fake-assemblyai.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { FakeOpenAiRealtime } from '../helpers/fake-openai-realtime.js';
import { FakeSpeechmatics } from '../helpers/fake-speechmatics.js';
import { FakeVoskServer } from '../helpers/fake-vosk-server.js';
import { FakeWhisperLive } from '../helpers/fake-whisperlive.js';
import { tempDirForTest } from '../helpers/cleanup.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('caption-bridge engines --check: every configured engine tried before the meeting', () => {
  const deepgram = new FakeDeepgram('dg-right-key-0123456789');
  const assemblyai = new FakeAssemblyAi('aai-right-key-0123456789');
  const openai = new FakeOpenAiRealtime('sk-right-key-0123456789');
  const speechmatics = new FakeSpeechmatics('sm-right-key-0123456789');
  const whisperlive = new FakeWhisperLive();
  const vosk = new FakeVoskServer();
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    for (const [name, server] of Object.entries({ deepgram, assemblyai, openai, speechmatics, whisperlive, vosk })) urls[name] = await server.start();
  });
  afterAll(async () => {
    for (const server of [deepgram, assemblyai, openai, speechmatics, whisperlive, vosk]) await server.stop();
  });

  it('says per engine whether it was reached, accepted the key and model, what it heard and how soon; never a key', async () => {
    const dir = await tempDirForTest('cb-engines-');
    const dead = await closedPort();
    const meeting = (id: string, asr: string): string => `  - { id: ${id}, source: { type: websocket, token: "\${INGEST}" }, asr: ${asr}, captions: [ { stdout: {} } ] }\n`;
    const keys = { DG_KEY: 'dg-right-key-0123456789', AAI_KEY: 'aai-right-key-0123456789', OPENAI_KEY: 'sk-right-key-0123456789', SM_KEY: 'sm-right-key-0123456789', WRONG_KEY: 'dg-wrong-key-9876543210' };
    // Two configs, so that no more than three stand-ins decode at once in this test's process (they run the
    // recognizer on its event loop; six at once on a busy 2-core machine starve their own handshakes).
    const check = async (name: string, meetings: string): Promise<{ code: number | null; stdout: string; lines: string[] }> => {
      const config = join(dir, `${name}.yaml`);
      await writeFile(config, `http: { host: 127.0.0.1 }\nmeetings:\n${meetings}`);
      const run = await cli(['engines', '--check', '--config', config], { ...keys, INGEST: 'ingest-token-0123456789' });
      for (const key of Object.values(keys)) expect(run.stdout + run.stderr).not.toContain(key);
      return { code: run.code, stdout: run.stdout + run.stderr, lines: run.stdout.split('\n') };
    };
    const heardWell = /^ok {3}.*reached yes, accepted yes, first interim .*, first final (\d+\.\d s|none); heard "[a-z ]*(young|man|amiable|himself)/i;
    const lineOf = (lines: string[], where: string): string => lines.find((l) => l.includes(`[${where}`)) ?? `(no line for ${where})`;

    const first = await check(
      'first',
      meeting('embedded', '{ engine: pocketsphinx, fallback: [ { engine: deepgram, apiKey: "${DG_KEY}", url: "' + urls.deepgram + '/v1/listen" } ] }') +
        meeting('openai', '{ engine: openai-realtime, apiKey: "${OPENAI_KEY}", url: "' + urls.openai + '/v1/realtime?intent=transcription" }') +
        meeting('wl', `{ engine: whisperlive, url: "${urls.whisperlive}" }`) +
        meeting('wrong-key', '{ engine: deepgram, apiKey: "${WRONG_KEY}", url: "' + urls.deepgram + '/v1/listen" }') +
        meeting('down', `{ engine: vosk-server, url: "ws://127.0.0.1:${dead}" }`) +
        meeting('no-dns', '{ engine: vosk-server, url: "ws://no-such-host.invalid:2700" }'),
    );
    expect(first.code, first.stdout).toBe(1);
    for (const where of ['meetings[0].asr (embedded)', 'meetings[0].asr (embedded).fallback[0]', 'meetings[1].asr (openai)', 'meetings[2].asr (wl)']) {
      expect(lineOf(first.lines, where), first.stdout).toMatch(heardWell);
    }
    expect(lineOf(first.lines, 'meetings[3].asr (wrong-key)')).toMatch(/^FAIL deepgram .*reached yes, accepted no; the key was refused/);
    expect(lineOf(first.lines, 'meetings[4].asr (down)')).toMatch(/^FAIL vosk-server .*reached no, accepted no; the connection was refused/);
    expect(lineOf(first.lines, 'meetings[5].asr (no-dns)')).toMatch(/^FAIL vosk-server .*reached no, accepted no; the host name does not resolve \(DNS/);
    expect(first.stdout).toContain('3 engines failed');

    const second = await check(
      'second',
      meeting('aai', '{ engine: assemblyai, apiKey: "${AAI_KEY}", url: "' + urls.assemblyai + '/v3/ws" }') +
        meeting('sm', '{ engine: speechmatics, apiKey: "${SM_KEY}", url: "' + urls.speechmatics + '/v2" }') +
        meeting('vosk', `{ engine: vosk-server, url: "${urls.vosk}" }`),
    );
    expect(second.code, second.stdout).toBe(0);
    for (const where of ['meetings[0].asr (aai)', 'meetings[1].asr (sm)', 'meetings[2].asr (vosk)']) expect(lineOf(second.lines, where), second.stdout).toMatch(heardWell);
    expect(second.stdout).toContain('every engine answered');
  }, 120_000);
});
