import { describe, expect, it, onTestFinished } from 'vitest';
import type { AudioItem } from '../../src/audio.js';
import { DeepgramRecognizer } from '../../src/asr/deepgram/recognizer.js';
import type { SpeechEvent } from '../../src/asr/types.js';
import { readWav } from '../../src/util/wav.js';
import { normalizeWords } from '../../src/util/wer.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { captureLogs } from '../helpers/log-capture.js';
import { AlignedHearing, scriptOf } from '../helpers/scripted-hearing.js';
import { librivoxClips, roomNoise } from '../helpers/speech.js';

/** Three sentences with pauses between them, and where each is. */
function speechWithPauses(): { samples: Int16Array; pieces: { start: number; end: number; transcript: string }[] } {
  const clips = librivoxClips();
  const parts: Int16Array[] = [roomNoise(0.5)];
  const pieces: { start: number; end: number; transcript: string }[] = [];
  let at = parts[0]!.length;
  for (const clip of [clips[0]!, clips[1]!, clips[3]!]) {
    const samples = readWav(clip.path).samples;
    pieces.push({ start: at, end: at + samples.length, transcript: clip.transcript });
    parts.push(samples, roomNoise(1.2, at));
    at += samples.length + parts.at(-1)!.length;
  }
  const samples = new Int16Array(at);
  let offset = 0;
  for (const part of parts) {
    samples.set(part, offset);
    offset += part.length;
  }
  return { samples, pieces };
}

describe("the meeting's own words reach a cloud engine while it listens", () => {
  /**
   * The stream at four times real time through Deepgram's protocol, the meeting's words told at audio chunk `wordsAt`;
   * `lagSeconds`: the engine says nothing for that much audio, then everything at once (an engine behind).
   */
  async function stream(wordsAt: number, lagSeconds = 0) {
    const { log, text } = captureLogs('info');
    const { samples, pieces } = speechWithPauses();
    const script = scriptOf(samples, pieces);
    const engine = new FakeDeepgram('dg-key');
    const hearings: AlignedHearing[] = [];
    engine.hears = () => {
      const hearing = new AlignedHearing(script, samples);
      hearings.push(hearing);
      return hearing;
    };
    if (lagSeconds > 0) {
      // The stream's first connection lags: its events come only once lagSeconds of audio have arrived.
      const made = engine.hears;
      engine.hears = (request) => {
        const hearing = made(request);
        if (hearings.length !== 2) return hearing;
        let heard = 0;
        const held: SpeechEvent[] = [];
        return {
          process: (pcm) => {
            heard += pcm.length;
            held.push(...hearing.process(pcm));
            return heard / 16_000 < lagSeconds ? [] : held.splice(0);
          },
          finish: () => [...held.splice(0), ...hearing.finish()],
          free: () => hearing.free(),
        };
      };
    }
    const url = await engine.start();
    onTestFinished(() => engine.stop());
    const recognizer = new DeepgramRecognizer({ apiKey: 'dg-key', url: `${url}/v1/listen`, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: ['Dashwood'] }, log);
    onTestFinished(() => recognizer.close());
    await recognizer.start();
    // As the pipeline does for a meeting with asr.meetingWords: words will come.
    recognizer.usePhrases([]);
    // Four times real time, in 100 ms chunks; the meeting's words arrive while the first sentence is being said.
    async function* audio(): AsyncIterable<AudioItem> {
      for (let at = 0; at < samples.length; at += 1_600) {
        if (at === 1_600 * wordsAt) recognizer.usePhrases(['Marianne Dashwood', 'Norland Park']);
        yield samples.subarray(at, at + 1_600);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    const events: SpeechEvent[] = [];
    for await (const event of recognizer.transcribe(audio())) events.push(event);
    return { events, engine, hearings, pieces, text };
  }

  it('new words renew the connection at the next pause: the new one asks for them, hears from the last final on, and no word is lost or heard twice', async () => {
    const { events, engine, hearings, pieces, text } = await stream(20);
    const keyterms = engine.requests.map((r) => r.url.searchParams.getAll('keyterm'));
    // The start check, the stream's first connection, and the one that took over at a pause.
    expect(keyterms).toEqual([['Dashwood'], ['Dashwood'], ['Dashwood', 'Marianne Dashwood', 'Norland Park']]);
    expect(text()).toContain('speech engine connection renewed with the new vocabulary');
    // It took over at the end of the first sentence, and heard the stream from there.
    expect(hearings[2]!.offset! / 16_000).toBeGreaterThan(pieces[0]!.end / 16_000 - 0.6);
    expect(hearings[2]!.offset! / 16_000).toBeLessThan(pieces[1]!.start / 16_000);
    const finals = events.flatMap((e) => (e.type === 'final' ? e.words : []));
    expect(finals.map((w) => w.word.toLowerCase().replace(/[^a-z']/g, ''))).toEqual(pieces.flatMap((p) => normalizeWords(p.transcript)));
    // On the stream's timeline: the second sentence's words where they were said.
    const second = finals.find((w) => w.word.toLowerCase().startsWith(normalizeWords(pieces[1]!.transcript)[0]!));
    expect(second!.start).toBeCloseTo(pieces[1]!.start / 16_000, 0);
  });

  it('a connection that has said nothing but is older than the audio kept (an engine behind) waits for a pause: nothing it heard is lost', async () => {
    const { events, engine, pieces } = await stream(40, 6);
    expect(engine.requests).toHaveLength(3);
    const finals = events.flatMap((e) => (e.type === 'final' ? e.words : []));
    expect(finals.map((w) => w.word.toLowerCase().replace(/[^a-z']/g, ''))).toEqual(pieces.flatMap((p) => normalizeWords(p.transcript)));
  });

  it('words told before anyone spoke renew the connection at once, before the first word', async () => {
    const { events, engine, hearings, pieces } = await stream(2);
    expect(engine.requests.map((r) => r.url.searchParams.getAll('keyterm'))).toEqual([['Dashwood'], ['Dashwood'], ['Dashwood', 'Marianne Dashwood', 'Norland Park']]);
    expect(hearings[2]!.offset! / 16_000).toBeLessThan(pieces[0]!.start / 16_000);
    const finals = events.flatMap((e) => (e.type === 'final' ? e.words : []));
    expect(finals.map((w) => w.word.toLowerCase().replace(/[^a-z']/g, ''))).toEqual(pieces.flatMap((p) => normalizeWords(p.transcript)));
  });
});
