import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AudioStream } from '../../../src/audio.js';
import { parseConfig } from '../../../src/config/load.js';
import { MeetingPipeline } from '../../../src/pipeline/meeting.js';
import { normalizeWords } from '../../../src/util/wer.js';
import { FakeZoom } from '../../helpers/fake-zoom.js';
import { HearingRecognizer } from '../../helpers/hearing-recognizer.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { freshText } from '../../helpers/viewer.js';
import { ScriptedHearing, type ScriptedUtterance } from '../../helpers/scripted-hearing.js';

const logs = captureLogs();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Three utterances, a word every 0.3 s, a second of quiet between them. */
const SENTENCES = ['the meeting starts with the budget for next year', 'we hired two people in march and one in may', 'questions go to the chat please'];
function script(sentences = SENTENCES): { utterances: ScriptedUtterance[]; seconds: number } {
  let at = 0.5;
  const utterances = sentences.map((sentence) => {
    const words = sentence.split(' ').map((word) => {
      const timed = { word, start: at, end: at + 0.25 };
      at += 0.3;
      return timed;
    });
    at += 1;
    return { words };
  });
  return { utterances, seconds: at + 1 };
}

/** Silence of the script's length in 100 ms chunks, ten times faster than real time. */
function audioOf(seconds: number): AudioStream {
  return (async function* () {
    for (let i = 0; i < seconds * 10; i++) {
      yield new Int16Array(1_600);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
}

async function pipelineTo(zoomUrl: string, hearing: () => ScriptedHearing, captions = `[ { zoom: { url: "${zoomUrl}" } } ]`): Promise<{ pipeline: MeetingPipeline; recognizer: HearingRecognizer; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-pipeline-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const config = parseConfig(`state: { dir: ${dir} }\nmeetings:\n  - id: room\n    source: { type: websocket, token: room-token-0123456789 }\n    captions: ${captions.replaceAll('DIR', dir)}\n    archive: false\n`, 'room.yaml', {});
  let recognizer!: HearingRecognizer;
  const pipeline = new MeetingPipeline(config.meetings[0]!, { stateDir: dir, log: logs.log, recognizerFor: () => (recognizer = new HearingRecognizer(hearing)) });
  cleanups.push(() => pipeline.close());
  return { pipeline, recognizer, dir };
}

describe('MeetingPipeline: one meeting from an engine\'s events to Zoom', () => {
  it('every word a perfect engine hears reaches Zoom once, in order, under Zoom\'s rules; its states follow the stream', async () => {
    const zoom = new FakeZoom();
    const url = await zoom.start();
    cleanups.push(() => zoom.stop());
    const { utterances, seconds } = script();
    const { pipeline, recognizer } = await pipelineTo(url, () => new ScriptedHearing(utterances));
    const states = [pipeline.state];
    await pipeline.start();
    states.push(pipeline.state);
    const running = pipeline.runStream(audioOf(seconds), 'test');
    await new Promise((resolve) => setTimeout(resolve, 50));
    states.push(pipeline.state);
    const summary = await running;
    states.push(pipeline.state);

    expect(states).toEqual(['starting', 'ready', 'streaming', 'ready']);
    const heard = normalizeWords(zoom.accepted.map((c) => c.body).join(' '));
    expect(heard).toEqual(normalizeWords(SENTENCES.join(' ')));
    expect(zoom.accepted.map((c) => c.seq)).toEqual(zoom.accepted.map((_, i) => i + 1));
    expect(zoom.violations).toEqual([]);
    expect(summary).toMatchObject({ captions: zoom.accepted.length, words: heard.length });
    await pipeline.close();
    await pipeline.close();
    expect(pipeline.state).toBe('closed');
    expect(recognizer.closed).toBe(1);
  });

  it('a second publisher\'s stream waits for the first to flush: its words come after, none lost', async () => {
    const zoom = new FakeZoom();
    const url = await zoom.start();
    cleanups.push(() => zoom.stop());
    const { utterances, seconds } = script(SENTENCES.slice(0, 1));
    const { pipeline } = await pipelineTo(url, () => new ScriptedHearing(utterances));
    await pipeline.start();
    const first = pipeline.runStream(audioOf(seconds), 'first');
    const second = pipeline.runStream(audioOf(seconds), 'second');
    await Promise.all([first, second]);
    const heard = normalizeWords(zoom.accepted.map((c) => c.body).join(' '));
    expect(heard).toEqual(normalizeWords(`${SENTENCES[0]} ${SENTENCES[0]}`));
    expect(zoom.violations).toEqual([]);
  });

  it("the captioner's desk holds blocks, not roll-up: a correction reaches the blocks destinations; roll-up gets every word as it comes", async () => {
    const zoom = new FakeZoom();
    const url = await zoom.start();
    cleanups.push(() => zoom.stop());
    const { utterances, seconds } = script();
    const { pipeline, dir } = await pipelineTo(url, () => new ScriptedHearing(utterances), `[ { zoom: { url: "${url}", display: rollup } }, { file: { path: DIR/room.txt } } ]`);
    await pipeline.start();
    expect(pipeline.destinationsNotHeld).toHaveLength(1);
    expect(pipeline.destinationsNotHeld[0]).toMatch(/zoom/i);
    pipeline.desk.setHold(2_000);
    pipeline.desk.takePen('ana');
    const running = pipeline.runStream(audioOf(seconds), 'test');
    let corrected = false;
    while (!corrected) {
      const held = pipeline.desk.view().held.find((h) => h.text.includes('budget'));
      if (held) {
        pipeline.desk.edit(held.id, held.text.replace('budget', 'BUDGET'), 'ana');
        corrected = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await running;
    await pipeline.close();
    const file = await readFile(join(dir, 'room.txt'), 'utf8');
    expect(normalizeWords(file)).toEqual(normalizeWords(SENTENCES.join(' ').replace('budget', 'BUDGET')));
    // Zoom's roll-up box: every word once, as heard (it was never held), and never the held correction.
    const shown = zoom.accepted.map((c, i) => freshText(zoom.accepted[i - 1]?.body, c.body).fresh).join(' ');
    expect(normalizeWords(shown)).toEqual(normalizeWords(SENTENCES.join(' ')));
    expect(zoom.text()).not.toContain('BUDGET');
    expect(zoom.violations).toEqual([]);
  });
});

describe("MeetingPipeline: words the captioner keeps", () => {
  class ListeningRecognizer extends HearingRecognizer {
    readonly asked: string[][] = [];
    usePhrases(words: readonly string[]): void {
      this.asked.push([...words]);
    }
  }

  it('asks the engine to expect a word the captioner chose to keep, before the meeting\'s own words; not where it cannot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-pipeline-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const yaml = (meetingWords: boolean): string =>
      `state: { dir: ${dir} }\nmeetings:\n  - id: room\n    source: { type: websocket, token: room-token-0123456789 }\n    asr: { meetingWords: ${meetingWords} }\n    captions: [ { stdout: {} } ]\n    archive: false\n`;
    const hearing = (): ScriptedHearing => new ScriptedHearing([]);
    let listening!: ListeningRecognizer;
    const pipeline = new MeetingPipeline(parseConfig(yaml(true), 'room.yaml', {}).meetings[0]!, { stateDir: dir, log: logs.log, recognizerFor: () => (listening = new ListeningRecognizer(hearing)) });
    cleanups.push(() => pipeline.close());
    pipeline.learnMeetingWords({ names: ['Ana Lima'] });
    expect(pipeline.expectWord('Priya')).toBe(true);
    expect(pipeline.expectWord('Priya')).toBe(true);
    pipeline.learnMeetingWords({ names: ['Bo Chen'] });
    // The first call is the pipeline saying words will come (asr.meetingWords), before any.
    expect(listening.asked.slice(1).map((words) => words.filter((w) => ['Priya', 'Ana Lima', 'Bo Chen'].includes(w)))).toEqual([['Ana Lima'], ['Priya', 'Ana Lima'], ['Priya', 'Ana Lima', 'Bo Chen']]);

    // Without asr.meetingWords the captioner's word still goes; an engine that takes no vocabulary mid-meeting says so.
    let plain!: ListeningRecognizer;
    const optedOut = new MeetingPipeline(parseConfig(yaml(false), 'room.yaml', {}).meetings[0]!, { stateDir: dir, log: logs.log, recognizerFor: () => (plain = new ListeningRecognizer(hearing)) });
    cleanups.push(() => optedOut.close());
    expect(optedOut.expectWord('Priya')).toBe(true);
    expect(plain.asked).toEqual([['Priya']]);
    const deaf = new MeetingPipeline(parseConfig(yaml(false), 'room.yaml', {}).meetings[0]!, { stateDir: dir, log: logs.log, recognizerFor: () => new HearingRecognizer(hearing) });
    cleanups.push(() => deaf.close());
    expect(deaf.expectWord('Priya')).toBe(false);
  });
});
