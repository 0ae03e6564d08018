import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutgoingCaption } from '../../../src/caption/sink.js';
import { CaptionDesk } from '../../../src/pipeline/desk.js';
import { isBridgeError } from '../../../src/errors.js';

const caption = (text: string): OutgoingCaption => ({ text, words: text.split(' '), start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });

describe("the captioner's desk", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('without a hold, captions pass straight through', async () => {
    const desk = new CaptionDesk();
    expect(await desk.hold(caption('Good morning.'))).toEqual(caption('Good morning.'));
    expect(desk.view()).toEqual({ holdMs: 0, held: [], offers: [] });
  });

  it('holds each caption, goes out in order as it is when its hold ends; the pen holder puts one right and drops another', async () => {
    const desk = new CaptionDesk(() => Date.now());
    desk.setHold(2_000);
    const out: (string | undefined)[] = [];
    const first = desk.hold(caption('Welcome to the budget meeting.')).then((c) => out.push(c?.text));
    await vi.advanceTimersByTimeAsync(500);
    const second = desk.hold(caption('Um, uh.')).then((c) => out.push(c?.text));
    const third = desk.hold(caption('Priya will start.')).then((c) => out.push(c?.text));
    const [a, b, c] = desk.view().held;
    expect(() => desk.edit(a!.id, 'x', 'ana')).toThrow(/take the pen first/);
    desk.takePen('ana');
    desk.edit(c!.id, 'Pria will start.', 'ana');
    desk.edit(c!.id, 'Priya will start now.', 'ana');
    desk.drop(b!.id, 'ana');
    expect(desk.takePen('bo')).toBe('ana');
    expect(() => desk.edit(a!.id, 'x', 'ana')).toThrow(/bo holds the pen/);
    // A hold made shorter later never lets a caption overtake one before it.
    desk.setHold(0);
    const fourth = desk.hold(caption('Thank you.')).then((c) => out.push(c?.text));
    await vi.advanceTimersByTimeAsync(1_400);
    // The dropped one is settled at once (nothing to send); the first waits out its 2 s.
    expect(out).toEqual([undefined]);
    await vi.advanceTimersByTimeAsync(200);
    expect(out).toEqual([undefined, 'Welcome to the budget meeting.']);
    // The third's hold ends 2 s after it came (2.5 s); the fourth, held for 0 ms, waits for it.
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all([first, second, third, fourth]);
    expect(out).toEqual([undefined, 'Welcome to the budget meeting.', 'Priya will start now.', 'Thank you.']);
    try {
      desk.edit(a!.id, 'too late', 'bo');
    } catch (err) {
      expect(isBridgeError(err, 'DESK_REFUSED')).toBe(true);
    }
  });

  it('offers a word put right the same way twice as a replacement, once', async () => {
    const desk = new CaptionDesk();
    desk.setHold(1_000);
    desk.takePen('ana');
    for (const text of ['Ask prior about it.', 'Prior agrees.', 'Then prior left.']) void desk.hold(caption(text));
    const [one, two, three] = desk.view().held;
    desk.edit(one!.id, 'Ask Priya about it.', 'ana');
    expect(desk.view().offers).toEqual([]);
    desk.edit(two!.id, 'Priya agrees.', 'ana');
    expect(desk.view().offers).toEqual([{ from: 'prior', to: 'Priya' }]);
    desk.settleOffer('prior');
    desk.edit(three!.id, 'Then Priya left.', 'ana');
    expect(desk.view().offers).toEqual([]);
    desk.flush();
  });

  it('refuses a hold out of range and an edit that leaves no words', () => {
    const desk = new CaptionDesk();
    expect(() => desk.setHold(60_000)).toThrow(/0 to 10000 ms/);
    desk.setHold(1_000);
    desk.takePen('ana');
    void desk.hold(caption('Hello.'));
    expect(() => desk.edit(desk.view().held[0]!.id, '   ', 'ana')).toThrow(/drop it/);
    desk.flush();
  });
});
