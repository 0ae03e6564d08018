import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OutgoingCaption } from '../../../src/caption/sink.js';
import { CaptionDesk, type HeldCaption } from '../../../src/pipeline/desk.js';
import { captionerLines } from '../../../src/display/layout.js';
import { isBridgeError } from '../../../src/errors.js';

const caption = (text: string): OutgoingCaption => ({ text, words: text.split(' '), start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });
const texts = (captions: OutgoingCaption[]): string[] => captions.map((c) => c.text);

describe("the captioner's desk", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('without a hold, captions pass straight through', async () => {
    const desk = new CaptionDesk();
    expect(await desk.hold(caption('Good morning.'))).toEqual([caption('Good morning.')]);
    expect(desk.view()).toEqual({ holdMs: 0, held: [], offers: [] });
  });

  it('holds each caption, goes out in order as it is when its hold ends; the pen holder puts one right and drops another', async () => {
    const desk = new CaptionDesk(undefined, () => Date.now());
    desk.setHold(2_000);
    const out: string[] = [];
    const first = desk.hold(caption('Welcome to the budget meeting.')).then((c) => out.push(...texts(c)));
    await vi.advanceTimersByTimeAsync(500);
    const second = desk.hold(caption('Um, uh.')).then((c) => out.push(...texts(c)));
    const third = desk.hold(caption('Priya will start.')).then((c) => out.push(...texts(c)));
    const [a, b, c] = desk.view().held;
    expect(() => desk.edit(a!.id, 'x', 'ana')).toThrow(/take the pen first/);
    desk.takePen('ana');
    desk.edit(c!.id, 'Pria will start.', 'ana');
    desk.edit(c!.id, 'Priya will start now.', 'ana');
    desk.drop(b!.id, 'ana');
    expect(desk.view().held.map((h) => h.id)).toEqual([a!.id, c!.id]);
    expect(desk.takePen('bo')).toBe('ana');
    expect(() => desk.edit(a!.id, 'x', 'ana')).toThrow(/bo holds the pen/);
    // A hold made shorter later never lets a caption overtake one before it.
    desk.setHold(0);
    const fourth = desk.hold(caption('Thank you.')).then((c) => out.push(...texts(c)));
    await vi.advanceTimersByTimeAsync(1_400);
    expect(out).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(out).toEqual(['Welcome to the budget meeting.']);
    // The third's hold ends 2 s after it came (2.5 s); the fourth, held for 0 ms, waits for it.
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all([first, second, third, fourth]);
    expect(out).toEqual(['Welcome to the budget meeting.', 'Priya will start now.', 'Thank you.']);
    try {
      desk.edit(a!.id, 'too late', 'bo');
    } catch (err) {
      expect(isBridgeError(err, 'DESK_REFUSED')).toBe(true);
    }
  });

  it('shows a two-line block as one line (a text box drops line breaks, gluing the words), and breaks an edit into lines again', async () => {
    const desk = new CaptionDesk((text) => captionerLines(text, 32, 2));
    desk.setHold(1_000);
    desk.takePen('ana');
    const block = 'because two vendors lowered\ntheir prices the design';
    const untouched = desk.hold(caption(block));
    const edited = desk.hold(caption(block));
    const split = desk.hold(caption(block));
    const [a, b, c] = desk.view().held;
    expect(a!.text).toBe('because two vendors lowered their prices the design');
    desk.edit(b!.id, 'because two vendors lowered their prices. The design', 'ana');
    // The cursor after "prices" in what the captioner sees: words on both sides stay whole.
    expect(desk.split(c!.id, c!.text.indexOf(' the design'), 'ana')).toEqual(['because two vendors lowered their prices', 'the design']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(texts(await untouched)).toEqual([block]);
    expect(texts(await edited)).toEqual(['because two vendors lowered\ntheir prices. The design']);
    expect(texts(await split)).toEqual(['because two vendors\nlowered their prices', 'the design']);
    expect(captionerLines('a captioner may write more than the two lines a block has room for, and none of it is lost', 32, 2).split('\n')).toHaveLength(3);
  });

  it('splits a block in two and joins two into one, in order, each at the first one\'s time', async () => {
    const desk = new CaptionDesk();
    desk.setHold(1_000);
    desk.takePen('ana');
    const got: string[][] = [];
    const all = ['The budget is on the screen now. Can we see', "last year's next to it?", 'Yes.'].map((text) => desk.hold(caption(text)).then((c) => got.push(texts(c))));
    const [one, two] = desk.view().held;
    desk.split(one!.id, 'The budget is on the screen now.'.length, 'ana');
    const piece = desk.view().held[1]!;
    expect(piece.text).toBe('Can we see');
    // The piece split off joins the next caption: one sentence, as it was said.
    desk.join(piece.id, 'ana');
    expect(desk.view().held.map((h) => h.text)).toEqual(['The budget is on the screen now.', "Can we see last year's next to it?", 'Yes.']);
    expect(() => desk.split(two!.id, 3, 'ana')).toThrow(/gone out already/);
    expect(() => desk.split(one!.id, 0, 'ana')).toThrow(/both sides/);
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(all);
    expect(got).toEqual([['The budget is on the screen now.', "Can we see last year's next to it?"], [], ['Yes.']]);
  });

  /** A desk holding `texts` for a second, with ana holding the pen. */
  const penHeld = (texts: string[]): { desk: CaptionDesk; held: HeldCaption[] } => {
    const desk = new CaptionDesk();
    desk.setHold(1_000);
    desk.takePen('ana');
    for (const text of texts) void desk.hold(caption(text));
    return { desk, held: desk.view().held };
  };

  it('offers a word put right the same way twice as a replacement, once', async () => {
    const { desk, held: [one, two, three] } = penHeld(['Ask prior about it.', 'Prior agrees.', 'Then prior left.']);
    desk.edit(one!.id, 'Ask Priya about it.', 'ana');
    expect(desk.view().offers).toEqual([]);
    desk.edit(two!.id, 'Priya agrees.', 'ana');
    expect(desk.view().offers).toEqual([{ from: 'prior', to: 'Priya' }]);
    desk.settleOffer('prior');
    desk.edit(three!.id, 'Then Priya left.', 'ana');
    expect(desk.view().offers).toEqual([]);
    desk.flush();
  });

  it('offers a small word put right only with the word after it, never alone', async () => {
    const { desk, held: [one, two, three] } = penHeld(['We thank and Lee.', 'So and Lee agrees.', 'The end, and']);
    desk.edit(one!.id, 'We thank Anne Lee.', 'ana');
    desk.edit(two!.id, 'So Anne Lee agrees.', 'ana');
    // "always write 'and' as 'Anne'" would rewrite every "and" of the meeting.
    expect(desk.view().offers).toEqual([{ from: 'and lee', to: 'Anne Lee' }]);
    // At a caption's end the word before it is taken instead.
    desk.edit(three!.id, 'The end, Anne', 'ana');
    expect(desk.view().offers.map((o) => o.from)).not.toContain('and');
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
