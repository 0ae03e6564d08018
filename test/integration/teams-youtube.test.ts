import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeTeamsCart, FakeYouTubeCaptions } from '../helpers/fake-teams-youtube.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { streamAudio } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';

const INGEST = 'teams-youtube-ingest-0123456789';

describe('the same captions in Microsoft Teams (CART) and YouTube Live', () => {
  let zoom: FakeZoom;
  let teams: FakeTeamsCart;
  let youtube: FakeYouTubeCaptions;
  let daemon: Daemon;
  let logs: ReturnType<typeof captureLogs>;
  let dir: string;
  const speech = concatSamples([roomNoise(0.5), ...librivoxClips().slice(0, 3).flatMap((clip, i) => [readWav(clip.path).samples, roomNoise(0.8, i + 3)])]);

  beforeAll(async () => {
    logs = captureLogs('info');
    zoom = new FakeZoom();
    teams = new FakeTeamsCart();
    youtube = new FakeYouTubeCaptions();
    const [zoomUrl, teamsUrl, youtubeUrl] = await Promise.all([zoom.start(), teams.start(), youtube.start()]);
    dir = await mkdtemp(join(tmpdir(), 'cb-teams-youtube-'));
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
meetings:
  - id: event
    source: { type: websocket, token: ${INGEST} }
    captions:
      - zoom: { url: "${zoomUrl}" }
      - teams: { url: '${teamsUrl}' }
      - youtube: { url: "${youtubeUrl}" }
    archive: false
`,
      'teams.yaml',
      {},
    );
    daemon = await startDaemon(config, logs.log);
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([zoom?.stop(), teams?.stop(), youtube?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('every caption Zoom gets reaches Teams and YouTube once, in order, by their rules, through refusals and an outage; no credential is logged', async () => {
    // Teams: nobody has turned captions on yet (404), then a server error; YouTube: a dropped connection, then an
    // answer lost after it took the caption (the retry carries the same seq and body, and is not shown twice).
    teams.captionsOn = false;
    teams.faults.push({ kind: 'status', status: 500 });
    youtube.faults.push({ kind: 'reset-before' }, { kind: 'accept-then-reset' });
    const talking = streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/event`, speech, { token: INGEST, speed: 1 });
    await waitUntil(() => teams.posts > 0, { timeoutMs: 20_000, what: 'the first Teams POST' });
    // Longer than one caption's retry budget (5 s): the log says what Teams means, and the caption still goes.
    await waitUntil(() => logs.text().includes('Teams answered 404'), { timeoutMs: 15_000, what: 'the 404 explained' });
    teams.captionsOn = true;
    // Both services unreachable for 2 s in the middle.
    await waitUntil(() => zoom.accepted.length >= 3, { timeoutMs: 30_000, what: 'three captions' });
    teams.down = true;
    youtube.down = true;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    teams.down = false;
    youtube.down = false;
    await talking;
    await waitUntil(() => teams.text() === zoom.text().replace(/\n/g, ' ') && youtube.text() === teams.text(), { timeoutMs: 20_000, what: 'Teams and YouTube caught up with Zoom' });

    const zoomLines = zoom.accepted.map((c) => c.body.replace(/\n/g, ' '));
    expect(teams.lines).toEqual(zoomLines);
    expect(youtube.captions.map((c) => c.text)).toEqual(zoomLines);
    // YouTube's seq: one per caption, and a retry never counted as a new one.
    expect(youtube.captions.map((c) => c.seq)).toEqual(zoomLines.map((_, i) => i + 1));
    // Each caption is timed when its first word was said, so YouTube shows it with that moment of the video: seconds
    // before it could be posted (a caption is only posted once its words are settled and paced).
    const early = youtube.captions.map((c) => c.receivedAt - c.at).sort((a, b) => a - b);
    expect(early[Math.floor(early.length / 2)]).toBeGreaterThan(1_000);
    expect([teams.violations, youtube.violations, zoom.violations]).toEqual([[], [], []]);
    // Teams shows CART lines only in the captions language its readers chose: the meeting's, en-us.
    expect(teams.unseen).toBe(0);
    expect(logs.text()).toContain('Teams answered 404');
    expect(logs.text()).toContain('nobody has turned on live captions in it yet');
    expect(logs.text()).not.toContain(teams.token);
    expect(logs.text()).not.toContain(youtube.cid);
  });

  it('refuses a CART link or ingestion URL cut off while copying, naming what is missing', () => {
    const problems = (captions: string): string => {
      try {
        parseConfig(`meetings:\n  - id: a\n    source: { type: websocket, token: ${INGEST} }\n    captions: [ ${captions} ]\n`, 'cut.yaml', {});
        return '';
      } catch (err) {
        return String(err);
      }
    };
    expect(problems('{ teams: { url: "https://api.captions.office.microsoft.com/cartcaption?meetingid=abc" } }')).toContain('CART link has no `token`');
    expect(problems('{ youtube: { url: "http://upload.youtube.com/closedcaption" } }')).toContain('YouTube caption URL has no `cid`');
    expect(problems('{ youtube: { url: "not a link" } }')).toContain('YouTube caption URL is not a valid URL');
    expect(problems('{ teams: { url: "http://api.captions.office.microsoft.com/cartcaption?meetingid=a&token=b" } }')).toContain('must be https');
    // YouTube lists its ingestion URLs as http: they are taken, and sent over https.
    expect(problems('{ youtube: { url: "http://upload.youtube.com/closedcaption?cid=abcd" } }')).toBe('');
  });
});
