import { it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { normalizeWords } from '../src/util/wer.js';
import { tempDirForTest } from '../test/helpers/cleanup.js';
import { FakeDeepgram } from '../test/helpers/fake-deepgram.js';
import { FakeRtms } from '../test/helpers/fake-rtms.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../test/helpers/fake-zoom-api.js';
import { captureLogs } from '../test/helpers/log-capture.js';
import { AlignedHearing, scriptOf, type ScriptedUtterance } from '../test/helpers/scripted-hearing.js';
import { waitUntil } from '../test/helpers/wait.js';
import { buildCorpus, WITH_PAUSES } from './corpus.js';
import { report } from './report.js';

/**
 * The meeting's own words (asr.meetingWords) on a stand-in Zoom meeting whose talk names its people and projects
 * (the `names` corpus): the topic and agenda come from the Zoom API stand-in, the four participants join over RTMS as
 * the stream starts, before anyone speaks. Measured: how many mentions of a name or term reach the captions right,
 * with the meeting's words and without, through the embedded engine and through a stand-in cloud engine (Deepgram's
 * protocol). The stand-in's hearing is perfect except for these words, which it hears right only when the
 * connection asked for them (keyterm): the effect of keyterms on a real engine is Deepgram's to show, not this
 * bench's; what this measures is whether the words reach the engine before they are said.
 */
const MEETING = '123456789';
const SECRET = 'words-webhook-secret';
const PEOPLE = ['Priya Raman', 'Tomasz Nowak', 'Ngozi Okafor', 'Siobhan Kelly'];
const TOPIC = 'Falcon budget review';
const AGENDA = 'Kestrel migration. Norland lease';
/** The words a general model mishears, and what the stand-in hears instead when not told them. */
const MISHEARD: Record<string, string> = { falcon: 'fallen', kestrel: 'castle', priya: 'prior', tomasz: 'thomas', ngozi: 'gauzy', siobhan: 'shovan', norland: 'northland', okafor: 'oakfor' };

type Engine = 'pocketsphinx' | 'deepgram';

/** The script as an engine hears it that was asked to expect `keyterms`: the others of MISHEARD misheard. */
function heardWith(script: readonly ScriptedUtterance[], keyterms: readonly string[]): ScriptedUtterance[] {
  const known = new Set(keyterms.flatMap((term) => normalizeWords(term)));
  return script.map((u) => ({ words: u.words.map((w) => (MISHEARD[w.word] && !known.has(w.word) ? { ...w, word: MISHEARD[w.word]! } : w)) }));
}

async function meeting(engineName: Engine, words: boolean): Promise<Record<string, string | number>> {
  const corpus = buildCorpus(1, WITH_PAUSES, 'names');
  const script = scriptOf(corpus.samples, corpus.segments);
  const logs = captureLogs('info');
  const api = new FakeZoomApi();
  const zoom = new FakeZoom();
  const engine = new FakeDeepgram('bench-key');
  engine.hears = (request) => new AlignedHearing(heardWith(script, request.searchParams.getAll('keyterm')), corpus.samples);
  const [bases, captionUrl, engineUrl] = await Promise.all([api.start(), zoom.start(), engine.start()]);
  api.meetings.set(MEETING, { started: true, uuid: 'Pc3o/7lMTBaZ//vG0bIxdQ==', captionUrl: () => captionUrl, topic: TOPIC, agenda: AGENDA });
  const dir = await tempDirForTest('cb-words-');
  const asr = engineName === 'deepgram' ? `{ engine: deepgram, apiKey: bench-key, url: "${engineUrl}/v1/listen", meetingWords: ${words} }` : `{ engine: pocketsphinx, meetingWords: ${words} }`;
  const config = parseConfig(
    `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nzoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
meetings:
  - id: review
    source: { type: zoom-rtms, meetingId: "${MEETING}" }
    asr: ${asr}
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
    archive: false
`,
    'words.yaml',
    {},
  );
  const daemon = await startDaemon(config, logs.log);
  const rtms = new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, corpus.samples, { keepAliveMs: 10_000, pingOnlyWhenIdle: true });
  const signalingUrl = await rtms.start();
  await sendWebhook(daemon.port, SECRET, 'meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
  await waitUntil(() => rtms.sentSeconds > 0.2, { timeoutMs: 20_000, what: 'the stream under way' });
  rtms.participantJoin(PEOPLE.map((userName, i) => ({ userId: 1001 + i, userName })));
  await waitUntil(() => rtms.finishedSpeech, { timeoutMs: (corpus.samples.length / 16_000 + 60) * 1000, intervalMs: 500, what: 'all speech sent' });
  await sendWebhook(daemon.port, SECRET, 'meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
  await waitUntil(() => logs.text().includes('stream ended'), { timeoutMs: 30_000, what: 'the stream over' });
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const said = normalizeWords(corpus.transcript);
  const shown = normalizeWords(zoom.accepted.map((c) => c.body).join(' '));
  const count = (list: string[], word: string): number => list.filter((w) => w === word).length;
  const mentions = Object.keys(MISHEARD).reduce((n, word) => n + count(said, word), 0);
  const right = Object.keys(MISHEARD).reduce((n, word) => n + Math.min(count(said, word), count(shown, word)), 0);
  const renewed = logs.text().split('\n').filter((l) => l.includes('connection renewed with the new vocabulary'));
  const renewedAt = renewed.map((l) => (JSON.parse(l) as { atSeconds: number }).atSeconds);
  await daemon.stop();
  await Promise.all([rtms.stop(), engine.stop(), zoom.stop(), api.stop()]);
  return {
    engine: engineName === 'deepgram' ? 'Deepgram protocol (stand-in, keyterm-aware)' : 'embedded (pocketsphinx)',
    'asr.meetingWords': String(words),
    'name and term mentions right': `${right} / ${mentions}`,
    '%': Number(((right / mentions) * 100).toFixed(1)),
    'connection renewed at (s)': renewedAt.map((s) => s.toFixed(1)).join(', ') || '-',
    connections: engine.requests.map((r) => r.url.searchParams.getAll('keyterm').length).join(', '),
    captions: zoom.accepted.map((c) => c.body.replace(/\n/g, ' ')).join(' | ').slice(0, 2_000),
    'first name said at (s)': (script.flatMap((u) => u.words).find((w) => MISHEARD[w.word] && w.word !== 'falcon')?.start ?? 0).toFixed(1),
  };
}

it("the meeting's own words: names and terms right, with and without", async () => {
  const engines = (process.env.BENCH_ENGINES ?? 'pocketsphinx,deepgram').split(',') as Engine[];
  const rows: Record<string, string | number>[] = [];
  for (const engine of engines) rows.push(await meeting(engine, false), await meeting(engine, true));
  report('meeting-words', rows, { people: PEOPLE, topic: TOPIC, agenda: AGENDA, misheard: MISHEARD });
}, 900_000);
