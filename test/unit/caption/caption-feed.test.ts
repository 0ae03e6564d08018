import { describe, expect, it } from 'vitest';
import { CaptionFeed, type FeedCaption, type FeedReader } from '../../../src/caption/caption-feed.js';
import type { OutgoingCaption } from '../../../src/caption/sink.js';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFeedHistory } from '../../../src/caption/feed-history.js';
import { cueText, noteText, TranscriptFileSink } from '../../../src/caption/transcript-sink.js';
import { captureLogs } from '../../helpers/log-capture.js';

const caption = (text: string, start: number, speaker?: string): OutgoingCaption => ({ text, words: text.split(' '), start, end: start + 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [], ...(speaker ? { speaker } : {}) });

class Reader implements FeedReader {
  readonly got: FeedCaption[] = [];
  ended: string | undefined;
  constructor(private room = Infinity) {}
  send(c: FeedCaption): boolean {
    if (this.got.length >= this.room) return false;
    this.got.push(c);
    return true;
  }
  end(reason: string): void {
    this.ended = reason;
  }
}

describe('a meeting caption feed', () => {
  it('numbers the captions, keeps what it is told to for readers who join late, and says who spoke', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 3 });
    const sent = ['one', 'two', 'three', 'four'].map((text, i) => caption(text, i, i === 3 ? 'Ana' : undefined));
    for (const [i, c] of sent.entries()) expect(await feed.deliver(c)).toMatchObject({ status: 'written', seq: i + 1 });
    // Which caption each kept item came from (a correction reaches the files that had it); none for what is not kept.
    expect(feed.captionOf(4)).toBe(sent[3]);
    expect(feed.captionOf(1)).toBeUndefined();
    const late = new Reader();
    expect(feed.join(late)).toEqual({ caughtUp: 3 });
    expect(late.got.map((c) => [c.seq, c.text, c.speaker])).toEqual([[2, 'two', undefined], [3, 'three', undefined], [4, 'four', 'Ana']]);
    const resumed = new Reader();
    feed.join(resumed, 3);
    expect(resumed.got.map((c) => c.seq)).toEqual([4]);
  });

  it('drops a reader that cannot keep up, alone: the others get every caption', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: 't'.repeat(16), maxReaders: 10, keep: 100 });
    const frozen = new Reader(1);
    const steady = new Reader();
    feed.join(frozen);
    feed.join(steady);
    for (const text of ['a', 'b', 'c']) await feed.deliver(caption(text, 0));
    expect(frozen.ended).toMatch(/too slow/);
    expect(steady.got.map((c) => c.text)).toEqual(['a', 'b', 'c']);
    expect(feed.readerCount).toBe(1);
  });

  it('refuses readers past its cap and tells its readers when the meeting stops here', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 1, keep: 100 });
    const first = new Reader();
    feed.join(first);
    expect(feed.join(new Reader())).toEqual({ refused: 'this caption page has its 1 readers, the most the meeting allows: try again later' });
    feed.leave(first);
    expect(feed.refusal()).toBeUndefined();
    feed.join(first);
    await feed.close();
    await feed.close();
    expect(first.ended).toBe('the meeting stopped here');
    expect(feed.refusal()).toBe('the meeting is not running here');
  });
});

describe('a caption feed across restarts, and its readers by address', () => {
  it('gives one address a share of the page, not every slot', () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 4, maxReadersPerAddress: 2, keep: 10 });
    const [a1, a2, a3, b1] = [new Reader(), new Reader(), new Reader(), new Reader()];
    expect(feed.join(a1, 0, '198.51.100.1')).toEqual({ caughtUp: 0 });
    expect(feed.join(a2, 0, '198.51.100.1')).toEqual({ caughtUp: 0 });
    expect(feed.join(a3, 0, '198.51.100.1')).toEqual({ refused: expect.stringMatching(/2 readers from your address already/) });
    expect(feed.join(b1, 0, '203.0.113.5')).toEqual({ caughtUp: 0 });
    feed.leave(a1);
    feed.leave(a1);
    expect(feed.join(a3, 0, '198.51.100.1')).toEqual({ caughtUp: 0 });
    expect(feed.readerCount).toBe(3);
  });

  it("a captioner's correction of a caption already shown reaches readers now, readers who come later, and a restart", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-feed-'));
    const logs = captureLogs('info');
    try {
      const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 10, history: new FileFeedHistory(dir, 'm', logs.log) });
      await feed.start();
      const now = new Reader();
      feed.join(now);
      for (const text of ['Ask prior about it.', 'She agrees.']) await feed.deliver(caption(text, 0));
      expect(feed.correct(1, 'Ask Priya about it.')).toBe('Ask prior about it.');
      expect(feed.correct(1, 'Ask Priya about the lease.')).toBe('Ask Priya about it.');
      expect(feed.correct(99, 'gone')).toBeUndefined();
      // An item of its own, numbered on: a reader that resumes after caption 2 still gets it.
      expect(now.got.map((c) => [c.seq, c.corrects, c.text])).toEqual([[1, undefined, 'Ask prior about it.'], [2, undefined, 'She agrees.'], [3, 1, 'Ask Priya about it.'], [4, 1, 'Ask Priya about the lease.']]);
      const resumed = new Reader();
      feed.join(resumed, 2);
      expect(resumed.got.map((c) => c.corrects)).toEqual([1, 1]);
      expect(feed.recent(5)).toEqual([{ seq: 1, text: 'Ask Priya about the lease.' }, { seq: 2, text: 'She agrees.' }]);
      await feed.close();
      const after = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 10, history: new FileFeedHistory(dir, 'm', logs.log) });
      await after.start();
      expect(after.recent(5)).toEqual([{ seq: 1, text: 'Ask Priya about the lease.' }, { seq: 2, text: 'She agrees.' }]);
      expect(await after.deliver(caption('Next.', 0))).toMatchObject({ seq: 5 });
      await after.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('numbers on from the state dir after a restart, and a new reader scrolls back over the run before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-feed-'));
    const logs = captureLogs('info');
    try {
      const first = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 5, history: new FileFeedHistory(dir, 'm', logs.log) });
      await first.start();
      for (const text of ['one', 'two', 'three']) await first.deliver(caption(text, 0));
      await first.close();
      // A torn last line (a crash mid-write) is skipped; the rest counts.
      await appendFile(join(dir, 'feeds', 'm.jsonl'), '{"seq":4,"te');
      const second = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 5, history: new FileFeedHistory(dir, 'm', logs.log) });
      await second.start();
      expect(await second.deliver(caption('four', 0))).toMatchObject({ seq: 4 });
      const reconnected = new Reader();
      second.join(reconnected, 3);
      expect(reconnected.got.map((c) => [c.seq, c.text])).toEqual([[4, 'four']]);
      const fresh = new Reader();
      second.join(fresh);
      expect(fresh.got.map((c) => c.text)).toEqual(['one', 'two', 'three', 'four']);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('transcript files', () => {
  it('write a caption with blank lines, carriage returns or arrows as one cue, never a forged one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-cue-'));
    const logs = captureLogs('info');
    try {
      for (const format of ['vtt', 'srt']) {
        const path = join(dir, `t.${format}`);
        const sink = new TranscriptFileSink(path, logs.log, 'header');
        await sink.start();
        await sink.deliver(caption('ok.\n\n00:00:00.000 --> 09:00:00.000\nFORGED', 1));
        await sink.deliver(caption('ok.\r\r00:00:02.000 ---> 09:00:00.000\rFORGED', 2));
        await sink.note('ok.\r\r00:00:02.000 ---> 09:00:00.000\rFORGED');
        await sink.close();
        const text = await readFile(path, 'utf8');
        // Exactly the two cues delivered: one timing line each, and no cue text with an arrow in it.
        expect(text.split('\n').filter((line) => line.includes('-->')), format).toHaveLength(2);
        expect(text).not.toContain('\r');
        const blocks = text.trim().split('\n\n');
        expect(blocks.filter((block) => /FORGED/.test(block)).every((block) => !/^(\d+\n)?[\d:.,]+ --> [\d:.,]+\nFORGED/.test(block))).toBe(true);
      }
      expect(cueText('a --> b ---> c -----> d\r\n\r\ne')).toBe('a -> b -> c -> d\ne');
      expect(noteText('x\r\r--->y')).toBe('x / ->y');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rewrite a caption a captioner corrected after it was written: its cue, same number and times, and every later one intact", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-rewrite-'));
    const logs = captureLogs('info');
    try {
      for (const format of ['vtt', 'srt', 'txt']) {
        const path = join(dir, `t.${format}`);
        // An earlier run's cues stay as they are, and the numbering goes on after them.
        await appendFile(path, format === 'vtt' ? 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nAsk prior about it.\n\n' : format === 'srt' ? '1\n00:00:00,000 --> 00:00:01,000\nAsk prior about it.\n\n' : 'Ask prior about it.\n');
        const sink = new TranscriptFileSink(path, logs.log);
        await sink.start();
        const sent = [caption('Ask prior about it.', 1, 'Ana'), caption('She agrees.', 2), caption('Ask prior about it.', 3)];
        for (const c of sent) await sink.deliver(c);
        await sink.note('a remark');
        // Longer, then shorter: the cues after each rewritten one move, and are still found.
        expect(await sink.rewrite(sent[0]!, 'Ask Priya about it, please.')).toBe(true);
        expect(await sink.rewrite(sent[2]!, 'Ask Priya.')).toBe(true);
        expect(await sink.rewrite(sent[0]!, 'Ask Priya about the lease.')).toBe(true);
        expect(await sink.rewrite(caption('never written', 9), 'x')).toBe(false);
        await sink.deliver(caption('Thank you.', 4));
        await sink.close();
        const text = await readFile(path, 'utf8');
        const expected = {
          vtt: 'WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nAsk prior about it.\n\n00:00:01.000 --> 00:00:02.000\n<v Ana>Ask Priya about the lease.\n\n00:00:02.000 --> 00:00:03.000\nShe agrees.\n\n00:00:03.000 --> 00:00:04.000\nAsk Priya.\n\nNOTE a remark\n\n00:00:04.000 --> 00:00:05.000\nThank you.\n\n',
          srt: '1\n00:00:00,000 --> 00:00:01,000\nAsk prior about it.\n\n2\n00:00:01,000 --> 00:00:02,000\nAsk Priya about the lease.\n\n3\n00:00:02,000 --> 00:00:03,000\nShe agrees.\n\n4\n00:00:03,000 --> 00:00:04,000\nAsk Priya.\n\n5\n00:00:04,000 --> 00:00:05,000\nThank you.\n\n',
          txt: 'Ask prior about it.\nAsk Priya about the lease.\nShe agrees.\nAsk Priya.\nThank you.\n',
        }[format];
        expect(text, format).toBe(expected);
      }
      // A plain-text transcript changed under the sink: its line is not guessed at (the same words stand twice).
      const path = join(dir, 'changed.txt');
      const sink = new TranscriptFileSink(path, logs.log);
      await sink.start();
      const first = caption('Ask prior.', 1);
      await sink.deliver(first);
      await sink.deliver(caption('Ask prior.', 2));
      await rm(path);
      await appendFile(path, 'Someone else wrote this.\nAsk prior.\n');
      expect(await sink.rewrite(first, 'Ask Priya.')).toBe(false);
      expect(await readFile(path, 'utf8')).toBe('Someone else wrote this.\nAsk prior.\n');
      await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
