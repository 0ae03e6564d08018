import { it } from 'vitest';
import type { RecognizedWord } from '../src/asr/types.js';
import { parseConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { alignWords, normalizeWords, wordErrorRate } from '../src/util/wer.js';
import { tempDirForTest } from '../test/helpers/cleanup.js';
import { FakeDeepgram } from '../test/helpers/fake-deepgram.js';
import { FakeRtms } from '../test/helpers/fake-rtms.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../test/helpers/fake-zoom-api.js';
import { captureLogs } from '../test/helpers/log-capture.js';
import { scriptOf, ScriptedHearing } from '../test/helpers/scripted-hearing.js';
import { waitUntil } from '../test/helpers/wait.js';
import { buildCorpus } from './corpus.js';
import { wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

/**
 * Who is speaking, by name (display.speakerNames), on a stand-in RTMS conversation: the untuned corpus's three
 * voices take turns sentence by sentence (short turns: 0.15-0.8 s between them), and Zoom names each new speaker a
 * little after their first word (BENCH_ANNOUNCE_MS, uniform, default 100-600 ms: Zoom names a speaker once they are
 * the loudest). A perfect engine (Deepgram's protocol, a scripted hearing) hears the words, so every wrong name is
 * the bridge's. Measured with names and without (the ">>" marker): captions whose every word is the named speaker's,
 * words under the right name, turns marked, word latency, and the process's CPU for the run.
 */
const MEETING = '123456789';
const SECRET = 'speakers-webhook-secret';
const SHORT_TURNS = [0.3, 0.15, 0.8, 0.5];
/** BENCH_OVERLAP=1: some turns start before the last one ends (0.5 s and 0.3 s of two voices at once). */
const OVERLAP = process.env.BENCH_OVERLAP === '1';
const TURNS = OVERLAP ? [0.3, -0.5, 0.8, 0.15, -0.3] : SHORT_TURNS;
const [ANNOUNCE_MIN_MS, ANNOUNCE_MAX_MS] = (process.env.BENCH_ANNOUNCE_MS ?? '100,600').split(',').map(Number) as [number, number];
const PEOPLE: Record<string, { id: number; name: string }> = {
  'en-gb-x-rp': { id: 1001, name: 'Ana Ruiz' },
  'en-029': { id: 1002, name: 'Ben Okafor' },
  'en-gb-x-gbcwmd': { id: 1003, name: 'Cleo Hart' },
};

/** A fixed sequence of announcement delays, so both variants meet the same Zoom. */
function delays(count: number): number[] {
  let seed = 7;
  return Array.from({ length: count }, () => {
    seed = (seed * 48_271) % 2_147_483_647;
    return ANNOUNCE_MIN_MS + ((seed % 1_000) / 1_000) * (ANNOUNCE_MAX_MS - ANNOUNCE_MIN_MS);
  });
}

/**
 * The engine: a perfect one behind Deepgram's protocol hearing the mixed audio, or Zoom's own transcript
 * (zoom-transcript), which the RTMS stand-in sends sentence by sentence per speaker, revised as each word is said and
 * complete 0.6 s after its last (an assumption: no real Zoom here).
 */
type Engine = 'deepgram' | 'zoom-transcript';

async function conversation(names: boolean, engineName: Engine = 'deepgram'): Promise<Record<string, string | number>> {
  const corpus = buildCorpus(1, TURNS, 'untuned');
  const script = scriptOf(corpus.samples, corpus.segments);
  // Who says each word: each segment's own words (timed as in the script), in the order they are said.
  const spoken: (RecognizedWord & { person: string })[] = corpus.segments
    .flatMap((s) => scriptOf(corpus.samples, [s]).flatMap((u) => u.words).map((w) => ({ ...w, person: PEOPLE[s.voice!]!.name })))
    .sort((a, b) => a.start - b.start);
  const logs = captureLogs('info');
  const api = new FakeZoomApi();
  const zoom = new FakeZoom();
  const engine = new FakeDeepgram('bench-key');
  engine.hears = () => new ScriptedHearing(script);
  const [bases, captionUrl, engineUrl] = await Promise.all([api.start(), zoom.start(), engine.start()]);
  api.meetings.set(MEETING, { started: true, uuid: 'Pc3o/7lMTBaZ//vG0bIxdQ==', captionUrl: () => captionUrl });
  const dir = await tempDirForTest('cb-speakers-');
  const config = parseConfig(
    `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nzoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
meetings:
  - id: council
    source: { type: zoom-rtms, meetingId: "${MEETING}" }
    asr: ${engineName === 'deepgram' ? `{ engine: deepgram, apiKey: bench-key, url: "${engineUrl}/v1/listen" }` : '{ engine: zoom-transcript }'}
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
    display: { speakerMarker: ">>", speakerNames: ${names} }
    archive: false
`,
    'speakers.yaml',
    {},
  );
  const daemon = await startDaemon(config, logs.log);
  // Zoom's transcript: a sentence per segment, as its speaker said it, cased and punctuated as Zoom writes.
  const lines = corpus.segments.map((s) => ({
    userId: PEOPLE[s.voice!]!.id,
    userName: PEOPLE[s.voice!]!.name,
    text: `${s.transcript.charAt(0).toUpperCase()}${s.transcript.slice(1)}${/[.?!]$/.test(s.transcript) ? '' : '.'}`,
    startMs: (s.start / 16_000) * 1000,
    endMs: (s.end / 16_000) * 1000,
  }));
  const rtms = new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, corpus.samples, {
    keepAliveMs: 10_000,
    pingOnlyWhenIdle: true,
    ...(engineName === 'zoom-transcript' ? { transcript: { lines } } : {}),
  });
  const signalingUrl = await rtms.start();
  const cpuBefore = process.cpuUsage();
  await sendWebhook(daemon.port, SECRET, 'meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
  // Zoom names each speaker once they are the loudest: a little after the first word of their turn.
  const turns = corpus.segments.map((s, i) => ({ at: s.start / 16_000 + delays(corpus.segments.length)[i]! / 1000, person: PEOPLE[s.voice!]! }));
  let next = 0;
  let streamStartedAt: number | undefined;
  const announcer = setInterval(() => {
    if (streamStartedAt === undefined && rtms.sentSeconds > 0) streamStartedAt = Date.now() - rtms.sentSeconds * 1000;
    while (next < turns.length && rtms.sentSeconds >= turns[next]!.at) {
      const { person } = turns[next++]!;
      rtms.activeSpeaker(person.id, person.name);
    }
  }, 10);
  await waitUntil(() => rtms.finishedSpeech, { timeoutMs: (corpus.samples.length / 16_000 + 60) * 1000, intervalMs: 500, what: 'all speech sent' });
  clearInterval(announcer);
  // The meeting ends a moment after its last words (Zoom's transcript completes its last sentence meanwhile).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await sendWebhook(daemon.port, SECRET, 'meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
  await waitUntil(() => logs.text().includes('stream ended') || daemon.meetings[0]?.state === 'ready', { timeoutMs: 30_000, what: 'the stream over' });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const cpu = process.cpuUsage(cpuBefore);

  // Each POST's words matched to the script's, and the speaker it shows: its name, or the turn it continues.
  const posts = zoom.accepted.map((c) => ({ text: c.body, at: c.receivedAt }));
  let shown: string | undefined;
  const postWords = posts.flatMap((post, index) => {
    const named = /^([^:\n]{1,30}): /.exec(post.text);
    if (named) shown = named[1];
    const text = post.text.replace(/^([^:\n]{1,30}): |^>> /, '');
    return normalizeWords(text).map((word) => ({ word, post: index, shown }));
  });
  type Match = { op: 'match'; ref: number; hyp: number };
  const steps = alignWords(spoken.map((w) => w.word), postWords.map((w) => w.word)).filter((s): s is Match => s.op === 'match');
  const byPost = new Map<number, boolean[]>();
  let wordsRight = 0;
  let matched = 0;
  for (const step of steps) {
    matched += 1;
    const said = postWords[step.hyp]!;
    const right = said.shown === spoken[step.ref]!.person;
    if (right) wordsRight += 1;
    byPost.set(said.post, [...(byPost.get(said.post) ?? []), right]);
  }
  const captionsRight = [...byPost.values()].filter((words) => words.every(Boolean)).length;
  // Each POST as shown, with who said each of its words: kept with the results for whoever reads why a name was wrong.
  const attributed = posts.map((post, index) => ({ text: post.text, saidBy: steps.filter((s) => postWords[s.hyp]!.post === index).map((s) => spoken[s.ref]!.person) }));
  if (names) wrongNames.push(...attributed.filter((p, i) => byPost.get(i)?.some((right) => !right)));
  // A POST starts a turn when its first word is another person's than the last word before it.
  let turnStarts = 0;
  let turnsMarked = 0;
  let lastPerson: string | undefined;
  for (const [index, post] of posts.entries()) {
    const first = steps.find((s) => postWords[s.hyp]!.post === index);
    const person = first && spoken[first.ref]!.person;
    const marked = /^([^:\n]{1,30}): |^>> /.test(post.text);
    if (person !== undefined && lastPerson !== undefined && person !== lastPerson) {
      turnStarts += 1;
      if (marked) turnsMarked += 1;
    }
    const lastMatch = [...steps].reverse().find((s) => postWords[s.hyp]!.post === index);
    if (lastMatch) lastPerson = spoken[lastMatch.ref]!.person;
  }
  const latencies = wordLatencies(spoken, posts, streamStartedAt ?? 0).map((ms) => ms / 1000);
  await daemon.stop();
  await Promise.all([rtms.stop(), engine.stop(), zoom.stop(), api.stop()]);
  return {
    variant: `${engineName}, ${names ? 'speakerNames: true' : 'speakerMarker ">>" (default labels)'}${OVERLAP ? ', overlaps' : ''}`,
    'caption WER': Number(wordErrorRate(spoken.map((w) => w.word).join(' '), postWords.map((w) => w.word).join(' ')).wer.toFixed(3)),
    turns: corpus.segments.length,
    captions: posts.length,
    'captions all under the right name %': names ? Number(((captionsRight / byPost.size) * 100).toFixed(1)) : '-',
    'words under the right name %': names ? Number(((wordsRight / matched) * 100).toFixed(1)) : '-',
    'turn starts marked': `${turnsMarked} / ${turnStarts}`,
    'words shown / said': `${matched} / ${spoken.length}`,
    // In any order: a transcript that gives overlapping speakers' sentences one after the other loses no word.
    'words not shown': missingWords(spoken.map((w) => w.word), postWords.map((w) => w.word)).join(' '),
    'words shown in any order': `${bagMatches(spoken.map((w) => w.word), postWords.map((w) => w.word))} / ${spoken.length}`,
    'word p50 (s)': Number(percentile(latencies, 50).toFixed(2)),
    'word p95 (s)': Number(percentile(latencies, 95).toFixed(2)),
    'process CPU (s)': Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  };
}

const wrongNames: { text: string; saidBy: string[] }[] = [];

/** The words of `said` not among `shown` (each shown word counted once). */
function missingWords(said: readonly string[], shown: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const word of shown) left.set(word, (left.get(word) ?? 0) + 1);
  return said.filter((word) => {
    const n = left.get(word) ?? 0;
    left.set(word, n - 1);
    return n <= 0;
  });
}

/** How many of `said` are among `shown`, each shown word counted once, order aside. */
function bagMatches(said: readonly string[], shown: readonly string[]): number {
  const left = new Map<string, number>();
  for (const word of shown) left.set(word, (left.get(word) ?? 0) + 1);
  let found = 0;
  for (const word of said) {
    const n = left.get(word) ?? 0;
    if (n > 0) {
      found += 1;
      left.set(word, n - 1);
    }
  }
  return found;
}

it('speaker names on a stand-in RTMS conversation of three speakers', async () => {
  // BENCH_ENGINES=zoom-transcript: only those engines' variants.
  const engines = (process.env.BENCH_ENGINES ?? 'deepgram,zoom-transcript').split(',') as Engine[];
  const rows: Record<string, string | number>[] = [];
  for (const engine of engines) rows.push(await conversation(false, engine), await conversation(true, engine));
  report(OVERLAP ? 'speakers-overlaps' : 'speakers', rows, { announceMs: [ANNOUNCE_MIN_MS, ANNOUNCE_MAX_MS], turnGapsSeconds: TURNS, captionsWithAWrongName: wrongNames });
}, 600_000);
