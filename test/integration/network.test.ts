import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../src/util/wav.js';
import { tempDirForTest } from '../helpers/cleanup.js';
import { freePort, startDaemonProcess } from '../helpers/daemon-process.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { FakeZoomApi } from '../helpers/fake-zoom-api.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { streamAudio } from '../helpers/ws-client.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
/** The proxy's own outbound address: the stand-ins take connections from it alone, so a direct one is refused. */
const PROXY_EXIT = '127.0.0.2';
const MEETING = '123456789';

/**
 * A network where the internet is reached only through an HTTP proxy: a real CONNECT proxy (the `proxy` package)
 * whose connections leave from 127.0.0.2, and stand-ins for Zoom's API, its caption endpoint and a cloud engine
 * that drop every connection from anywhere else.
 */
describe('a proxy-only network: HTTPS_PROXY / HTTP_PROXY / NO_PROXY', () => {
  const proxy = createProxy(createServer());
  const tunnels: string[] = [];
  let proxyUrl = '';
  const api = new FakeZoomApi();
  const zoom = new FakeZoom();
  const engine = new FakeDeepgram('dg-proxy-key-0123456789');

  beforeAll(async () => {
    proxy.localAddress = PROXY_EXIT;
    proxy.on('connect', (req: { url?: string }) => tunnels.push(req.url ?? ''));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    for (const stand of [api, zoom, engine]) stand.onlyFrom = PROXY_EXIT;
  });
  afterAll(async () => {
    await Promise.all([api.stop(), zoom.stop(), engine.stop()]);
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('reaches the Zoom API, the Caption URL and a WebSocket engine through the proxy, and nothing directly', async () => {
    const bases = await api.start();
    const captionUrl = await zoom.start();
    const engineUrl = await engine.start();
    api.meetings.set(MEETING, { started: true, captionUrl: () => captionUrl });
    const dir = await tempDirForTest('cb-proxy-');
    const port = await freePort();
    const config = join(dir, 'proxy.yaml');
    await writeFile(
      config,
      `log: { level: info }
http: { host: 127.0.0.1, port: ${port} }
state: { dir: ${dir} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}" }
meetings:
  - id: allhands
    source: { type: websocket, token: ingest-token-0123456789 }
    asr: { engine: deepgram, apiKey: dg-proxy-key-0123456789, url: "${engineUrl}/v1/listen" }
    archive: false
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
`,
    );
    // The daemon's /readyz is asked directly by this test, not by the daemon: NO_PROXY is empty on purpose.
    const daemon = await startDaemonProcess(config, port, { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl, NO_PROXY: '' });
    try {
      const clip = librivoxClips()[0]!;
      await streamAudio(`ws://127.0.0.1:${port}/ingest/allhands`, concatSamples([readWav(clip.path).samples, roomNoise(1.5)]), { token: 'ingest-token-0123456789' });
      await waitUntil(() => zoom.accepted.length > 0, { timeoutMs: 20_000, what: 'a caption through the proxy' });
      // What is off on this bridge says so, and what would turn it on (not a bare 404 or 405).
      const consoleOff = await fetch(`http://127.0.0.1:${port}/console/api/events`, { headers: { authorization: 'Bearer any-token-at-all-0123' } });
      expect([consoleOff.status, ((await consoleOff.json()) as { error: string }).error]).toEqual([404, expect.stringMatching(/^The console is off on this bridge: set http\.adminToken/)]);
      const webhooksOff = await fetch(`http://127.0.0.1:${port}/zoom/webhook`, { method: 'POST', body: '{}' });
      expect([webhooksOff.status, ((await webhooksOff.json()) as { error: string }).error]).toEqual([404, expect.stringMatching(/^Zoom webhooks are off on this bridge: set zoomApi\.webhookSecret or rtmsApp\.webhookSecret/)]);
    } finally {
      await daemon.stop();
    }
    expect(daemon.stderr()).toContain('outbound connections go through the proxy the environment names');
    const hosts = (base: string): string => new URL(base).host;
    expect(tunnels).toEqual(expect.arrayContaining([hosts(bases.oauthBase), hosts(bases.apiBase), hosts(captionUrl), hosts(engineUrl)]));
    expect(zoom.accepted.map((c) => c.seq)).toEqual(zoom.accepted.map((_, i) => i + 1));
    for (const stand of [api, zoom, engine]) expect(stand.refusedDirect).toBe(0);

    // The same POST without the proxy is refused by this network; NO_PROXY naming the host sends it direct too.
    const post = async (env: NodeJS.ProcessEnv): Promise<number | null> => {
      const stateDir = await tempDirForTest('cb-proxy-post-');
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI, 'post', '--state-dir', stateDir, '--give-up-after', '2'], { env: { ...process.env, ZOOM_CAPTION_URL: captionUrl, ...env } });
        child.stdin.end('one more line\n');
        child.on('exit', resolve);
      });
    };
    const [direct, exempt] = await Promise.all([post({ HTTPS_PROXY: '', HTTP_PROXY: '' }), post({ HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' })]);
    expect([direct, exempt]).toEqual([1, 1]);
    expect(zoom.refusedDirect).toBeGreaterThan(1);
    expect(await post({ HTTP_PROXY: proxyUrl })).toBe(0);
  }, 60_000);
});
