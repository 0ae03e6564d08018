import { describe, expect, it } from 'vitest';
import { BlockDisplay, readingMs } from '../../../src/display/blocks.js';
import { breakLines, cutQuality, tokensThatFit } from '../../../src/display/layout.js';
import { RollupDisplay } from '../../../src/display/rollup.js';
import { displayPosts } from '../../../src/display/stream.js';
import { DEFAULT_DISPLAY_OPTIONS, type DisplayOptions, type DisplayPost } from '../../../src/display/types.js';
import type { SettledPiece, SettledToken } from '../../../src/segmenter/segmenter.js';

const options: DisplayOptions = { ...DEFAULT_DISPLAY_OPTIONS, maxHoldMs: 1_000, minShowMs: 1_500, maxCharsPerSecond: 20, maxLagMs: 3_000, rollupIntervalMs: 1_000 };

/** Tokens of a phrase, settled at `at` (wall ms), spoken one every 300 ms of audio. */
function piece(phrase: string, at: number, endsUtterance = false): SettledPiece {
  const tokens: SettledToken[] = phrase.split(' ').map((text, i) => ({ text, words: [text.toLowerCase()], start: i * 0.3, end: i * 0.3 + 0.25, settledAt: at }));
  return { tokens, endsUtterance };
}
const texts = (posts: DisplayPost[]): string[] => posts.map((p) => p.text);

describe('layout', () => {
  it('fills at most two lines and counts the tokens that fit; a word longer than a line gets a block of its own', () => {
    const words = 'and mister john dashwood had then leisure to consider how much there might be prudently'.split(' ');
    expect(tokensThatFit(words, 32, 2)).toBe(10);
    expect(tokensThatFit(['x'.repeat(40), 'y'], 32, 2)).toBe(1);
    expect(breakLines(['x'.repeat(40)], 32, 2)).toEqual(['x'.repeat(32), 'x'.repeat(8)]);
  });

  it('keeps a short block on one line and balances two lines, never ending the first on a leaning word', () => {
    expect(breakLines('we have three topics today'.split(' '), 32, 2)).toEqual(['we have three topics today']);
    expect(breakLines('the team shipped the mobile release last week'.split(' '), 32, 2)).toEqual(['the team shipped the mobile', 'release last week']);
    // A clause start after a leaning word does not make the cut good: "and | then" would strand "and".
    expect(cutQuality('mr john dashwood and then'.split(' '), 4)).toBe(0);
    expect(cutQuality('mr john dashwood and then'.split(' '), 3)).toBe(2);
    // "of" would balance best, but a line does not end on a preposition when another break fits.
    expect(breakLines('most of the people in the room of course agreed'.split(' '), 32, 2)[0]).not.toMatch(/ (of|the|in)$/);
  });
});

describe('BlockDisplay', () => {
  it('sends a block at a sentence end at once (a short one waits for company), and a full block cut where a reader would', () => {
    const short = new BlockDisplay(options);
    expect(short.push(piece('Thank you.', 0, true), 0)).toEqual([]);
    expect(texts(short.push(piece('Now the first topic.', 400, true), 400))).toEqual(['Thank you. Now the first topic.']);
    const display = new BlockDisplay(options);
    expect(texts(display.push(piece('Good morning everyone, and welcome.', 0, true), 0))).toEqual(['Good morning everyone,\nand welcome.']);
    const later = 10_000;
    const posts = display.push(piece('the team shipped the mobile release last week and the feedback has been very good so far', later), later);
    expect(texts(posts)).toEqual(['the team shipped the mobile\nrelease last week']);
    expect(posts[0]!.tokens.map((t) => t.text).at(-1)).toBe('week');
  });

  it("never leaves a sentence's last words alone on screen: a block cut inside a sentence keeps its last two words for the next", () => {
    const display = new BlockDisplay(options);
    expect(display.push(piece('the support team answered more tickets than ever', 0), 0)).toEqual([]);
    // The hold expires with the sentence unfinished: its last two words stay for the block that ends the sentence.
    const first = texts(display.tick(1_000));
    expect(first).toHaveLength(1);
    expect(first[0]).not.toMatch(/ever$/);
    expect(display.push(piece('before.', 1_200, true), 1_200)).toEqual([]);
    const end = texts(display.tick(display.nextDeadline()!));
    expect(end).toHaveLength(1);
    expect(end[0]).toMatch(/ever before\.$/);
    expect(end[0]!.split(/\s+/).length).toBeGreaterThan(2);
    // A full block whose sentence is known to end just after it leaves those words their company too.
    const full = new BlockDisplay(options);
    const posts = full.push(piece('the team shipped the mobile release last week for everyone here.', 0, true), 0);
    expect(texts(posts).at(-1)!.split(' ').length).toBeGreaterThan(2);
  });

  it("lets a sentence's last word that came after its block wait for the next sentence, not flash alone", () => {
    const display = new BlockDisplay(options);
    // Too short to keep two words back: the hold sends it all, and the engine's last word only settles later.
    display.push(piece('he was not until exposed young', 0), 0);
    expect(texts(display.tick(2_000))).toEqual(['he was not until exposed young']);
    expect(display.push(piece('man.', 2_100, true), 2_100)).toEqual([]);
    // The next sentence's first words come within the hold: they share the tail's block.
    expect(display.push(piece('Good morning everyone', 2_900), 2_900)).toEqual([]);
    // (The tail's hold ends at 3.1 s; the block on screen has its reading time until 3.5 s.)
    expect(display.tick(3_100)).toEqual([]);
    expect(texts(display.tick(3_500))).toEqual(['man. Good morning everyone']);
    // Nothing follows within the hold: the tail goes on its own after all, never lost.
    const lone = new BlockDisplay(options);
    lone.push(piece('he was not until exposed young', 0), 0);
    lone.tick(2_000);
    lone.push(piece('man.', 2_100, true), 2_100);
    expect(lone.nextDeadline()).toBe(3_100);
    expect(lone.tick(3_100)).toEqual([]);
    expect(texts(lone.tick(3_500))).toEqual(['man.']);
  });

  it('shows the engine\'s newest answer for words it has not shown yet; what is on screen stays, and no word comes twice', () => {
    const display = new BlockDisplay(options);
    expect(display.push(piece('the mr john dashwood had then leisure to', 0), 0)).toEqual([]);
    // Before the block goes, the engine revises two words: the block shows the revision.
    const revision = { tokens: [], endsUtterance: false, revised: piece('And mr john dashwood had then leisure to', 300).tokens };
    expect(display.push(revision, 300)).toEqual([]);
    const first = texts(display.tick(1_000));
    expect(first.join(' ')).toMatch(/^And mr john/);
    // After it went, a revision of shown words changes nothing shown; the words not shown take the newest answer.
    const shownWords = first.join(' ').split(/\s+/).length;
    const later = piece('And mr john dashwood had then pleasure to consider', 1_500);
    display.push({ tokens: later.tokens.slice(8), endsUtterance: true, revised: later.tokens.slice(0, 8) }, 1_500);
    const rest = texts(display.end(3_000)).concat(texts(display.tick(10_000)));
    const all = [...first, ...rest].join(' ').split(/\s+/);
    expect(all).toHaveLength(9);
    expect(all.slice(shownWords).join(' ')).toMatch(/pleasure to consider\.$/);
  });

  it('a revised word keeps the time it first settled (found by its audio); a word new in the revision settles then', () => {
    const display = new BlockDisplay(options);
    display.push(piece('one two three', 0), 0);
    // The engine now hears "tree" where it heard "three", and three words more.
    const revision = piece('one two tree four five six', 400).tokens;
    display.push({ tokens: [], endsUtterance: false, revised: revision }, 400);
    const posts = [...display.end(400), ...display.tick(10_000)];
    const settled = posts.flatMap((p) => p.tokens.map((t) => [t.text, t.settledAt]));
    // (Before, new words took the last replaced word's time: blocks went early and were replaced too soon to read.)
    expect(settled).toEqual([['one', 0], ['two', 0], ['tree', 0], ['four', 400], ['five', 400], ['six', 400]]);
  });

  it('holds an unfinished sentence until it makes a line and has waited maxHoldMs; a fragment waits longer', () => {
    const display = new BlockDisplay(options);
    expect(display.push(piece('if you know someone who would be a', 0), 0)).toEqual([]);
    expect(display.nextDeadline()).toBe(1_000);
    // The hold expires: the block goes, cut before the clause, not after "a" (it leans on the next word).
    expect(texts(display.tick(1_000))).toEqual(['if you know someone']);
    expect(display.push(piece('good', 1_100), 1_100)).toEqual([]);
    expect(display.nextDeadline()).toBe(2_000); // "who would be a good" is short of a line: twice the hold
    expect(display.tick(2_000)).toEqual([]);
    expect(display.nextDeadline()).toBe(2_500); // and the block on screen is read until then
    expect(texts(display.tick(2_500))).toEqual(['who would be a good']);
  });

  it('holds no block for company when its words were already late when they settled (audio Zoom replays after a takeover)', () => {
    const late = (phrase: string, at: number, saidBefore: number): SettledPiece => {
      const p = piece(phrase, at);
      for (const token of p.tokens) token.saidAt = at - saidBefore;
      return p;
    };
    // Said 2 s before it settled: live speech on a slow engine still waits for more words.
    const live = new BlockDisplay(options);
    expect(live.push(late('if you know someone who would be', 10_000, 2_000), 10_000)).toEqual([]);
    expect(live.nextDeadline()).toBe(11_000);
    // Said maxLagMs (3 s) or more before: a block goes at once (cut where a reader would), and the next one is paced
    // for reading only: it replaces this one when it has been read.
    const replayed = new BlockDisplay(options);
    expect(texts(replayed.push(late('if you know someone who would be', 10_000, 3_000), 10_000))).toEqual(['if you know someone']);
    expect(replayed.push(late('a good fit for', 10_100, 3_000), 10_100)).toEqual([]);
    expect(replayed.nextDeadline()).toBe(11_500);
    expect(texts(replayed.tick(11_500))).toEqual(['who would be a good fit']);
  });

  it('cuts a block short for a clause only while the words wait for company, not when they wait for the screen', () => {
    // Nothing on screen: the block goes when its hold ends, cut before the clause ("because") as a reader would.
    const fresh = new BlockDisplay(options);
    expect(fresh.push(piece('than we planned because two vendors', 0), 0)).toEqual([]);
    expect(texts(fresh.tick(fresh.nextDeadline()!))).toEqual(['than we planned']);
    // The same words after their hold, still waiting for a long block to be read: the speaker outruns the reader,
    // and a 15-character block would stay up minShowMs and hold every later word back longer still.
    const behind = new BlockDisplay(options);
    const first = behind.push(piece('We have three topics today so let us get started.', 0, true), 0);
    expect(first).toHaveLength(1);
    expect(behind.push(piece('than we planned because two vendors', 300), 300)).toEqual([]);
    expect(behind.tick(behind.nextDeadline()!)).toEqual([]);
    expect(behind.nextDeadline()).toBe(readingMs(first[0]!.text, options));
    expect(texts(behind.tick(behind.nextDeadline()!))).toEqual(['than we planned\nbecause two vendors']);
  });

  it('keeps a block up for its reading time; words meanwhile gather into the next block', () => {
    const display = new BlockDisplay(options);
    const first = display.push(piece('We have three topics today so let us get started.', 0, true), 0);
    expect(first).toHaveLength(1);
    const shownFor = readingMs(first[0]!.text, options);
    expect(shownFor).toBe(Math.max(1_500, (first[0]!.text.replace('\n', '').length / 20) * 1000));
    expect(display.push(piece('First the new office opens.', 300, true), 300)).toEqual([]);
    expect(display.push(piece('Everyone is welcome.', 600, true), 600)).toEqual([]);
    expect(display.nextDeadline()).toBe(shownFor);
    expect(texts(display.tick(shownFor))).toEqual(['First the new office opens.\nEveryone is welcome.']);
  });

  it('lets speech outrun reading only by maxLagMs: then a block may go after minShowMs', () => {
    const display = new BlockDisplay({ ...options, maxCharsPerSecond: 5, maxLagMs: 2_000 });
    display.push(piece('This block takes a long time to read.', 0, true), 0); // 37 chars at 5/s: 7.4 s
    display.push(piece('Next one, please.', 100, true), 100);
    expect(display.nextDeadline()).toBe(1_100); // a short sentence first waits maxHoldMs for company
    expect(display.tick(1_100)).toEqual([]);
    expect(display.nextDeadline()).toBe(2_100); // the waiting word is 2 s late then (and 1.5 s minimum has passed)
    expect(texts(display.tick(2_100))).toEqual(['Next one, please.']);
  });

  it('adds the full stop when an utterance ends after its last words were settled, and flushes what waits at the end', () => {
    const display = new BlockDisplay(options);
    expect(display.push(piece('we are done', 0), 0)).toEqual([]);
    expect(display.push({ tokens: [], endsUtterance: true }, 200)).toEqual([]);
    // A short sentence waits maxHoldMs for the next one to share its block; none comes.
    expect(texts(display.tick(1_000))).toEqual(['we are done.']);
    display.push(piece('and then', 5_000), 5_000);
    expect(texts(display.end(5_000))).toEqual(['and then']);
    expect(display.nextDeadline()).toBeUndefined();
  });

  it('never repeats a word, never exceeds two lines of 32 characters, and loses nothing', () => {
    const display = new BlockDisplay(options);
    const speech = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them. he was not an ill disposed young man unless to be rather cold hearted and rather selfish is to be ill disposed.';
    const posts: DisplayPost[] = [];
    let now = 0;
    for (const word of speech.split(' ')) {
      now += 300;
      for (let d = display.nextDeadline(); d !== undefined && d <= now; d = display.nextDeadline()) posts.push(...display.tick(d));
      posts.push(...display.push(piece(word, now, word.endsWith('.')), now));
    }
    posts.push(...display.end(now));
    for (let d = display.nextDeadline(); d !== undefined; d = display.nextDeadline()) posts.push(...display.tick(d));
    expect(posts.flatMap((p) => p.tokens.map((t) => t.text)).join(' ')).toBe(speech);
    for (const post of posts) {
      const lines = post.text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(32);
    }
    const gaps = posts.slice(1).map((p, i) => p.releasedAt - posts[i]!.releasedAt);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1_500);
  });
});

describe('speakers', () => {
  const spoken = (phrase: string, at: number, speaker: string): SettledPiece => {
    const p = piece(phrase, at, true);
    return { ...p, tokens: p.tokens.map((t) => ({ ...t, speaker })) };
  };
  it('blocks: a new speaker ends the block and starts the next with the marker', () => {
    const display = new BlockDisplay({ ...options, speakerMarker: '>>' });
    const posts = [...display.push(spoken('Are there any questions before we move on?', 0, 'a'), 0)];
    posts.push(...display.push(spoken('Yes, one.', 100, 'b'), 100), ...display.end(100));
    for (let d = display.nextDeadline(); d !== undefined; d = display.nextDeadline()) posts.push(...display.tick(d));
    expect(texts(posts)).toEqual(['Are there any questions\nbefore we move on?', '>> Yes, one.']);
  });
  it('rollup: a new speaker starts a new line with the marker', () => {
    const display = new RollupDisplay({ ...options, speakerMarker: '>>' });
    const posts = [...display.push(spoken('Any questions?', 0, 'a'), 0)];
    display.push(spoken('Yes.', 100, 'b'), 100);
    posts.push(...display.tick(display.nextDeadline()!));
    expect(texts(posts)).toEqual(['Any questions?', 'Any questions?\n>> Yes.']);
  });

  const named = (phrase: string, at: number, speaker: string, speakerName: string): SettledPiece => {
    const p = spoken(phrase, at, speaker);
    return { ...p, tokens: p.tokens.map((t) => ({ ...t, speakerName })) };
  };
  it('blocks with speakerNames: every turn starts with who speaks, the first one too; without the option, names are never shown', () => {
    const run = (display: BlockDisplay): string[] => {
      const posts = [...display.push(named('Are there any questions?', 0, 'speaker 1', 'Ana'), 0)];
      posts.push(...display.push(named('Yes, one.', 100, 'speaker 2', 'Ben'), 100), ...display.push(named('Go ahead.', 200, 'speaker 1', 'Ana'), 200), ...display.end(200));
      for (let d = display.nextDeadline(); d !== undefined; d = display.nextDeadline()) posts.push(...display.tick(d));
      return texts(posts);
    };
    expect(run(new BlockDisplay({ ...options, speakerMarker: '>>', speakerNames: true }))).toEqual(['Ana: Are there any questions?', 'Ben: Yes, one.', 'Ana: Go ahead.']);
    expect(run(new BlockDisplay({ ...options, speakerMarker: '>>' }))).toEqual(['Are there any questions?', '>> Yes, one.', '>> Go ahead.']);
  });
  it('rollup with speakerNames: a new speaker\'s line starts with their name', () => {
    const display = new RollupDisplay({ ...options, speakerNames: true });
    const posts = [...display.push(named('Any questions?', 0, 'speaker 1', 'Ana'), 0)];
    display.push(named('Yes.', 100, 'speaker 2', 'Ben'), 100);
    posts.push(...display.tick(display.nextDeadline()!));
    expect(texts(posts)).toEqual(['Ana: Any questions?', 'Ana: Any questions?\nBen: Yes.']);
  });
});

describe('RollupDisplay', () => {
  it('shows a word once it has been settled rollupHoldMs, in the engine\'s answer by then; an utterance\'s end shows the rest at once', () => {
    const display = new RollupDisplay({ ...options, rollupHoldMs: 300 });
    expect(display.push(piece('the mr john', 0), 0)).toEqual([]);
    expect(display.nextDeadline()).toBe(300);
    // Within the hold the engine hears "and" for "the": that is what goes on screen.
    expect(display.push({ tokens: [], endsUtterance: false, revised: piece('and mr john', 200).tokens }, 200)).toEqual([]);
    expect(texts(display.tick(300))).toEqual(['and mr john']);
    // The final's words cannot change any more: they go at the next POST the interval allows, without a hold.
    const final = piece('and mr john dashwood had', 1_300, true);
    expect(texts(display.push({ tokens: final.tokens.slice(3), endsUtterance: true, revised: final.tokens.slice(0, 3) }, 1_300))).toEqual(['and mr john dashwood had']);
  });

  it('builds the lower line at most once a second and moves a full line up exactly as it was last shown', () => {
    const display = new RollupDisplay(options);
    const posts: DisplayPost[] = [];
    const words = 'we have three topics today so let us get started first the new office opens in march'.split(' ');
    let now = 0;
    for (const word of words) {
      now += 250;
      for (let d = display.nextDeadline(); d !== undefined && d <= now; d = display.nextDeadline()) posts.push(...display.tick(d));
      posts.push(...display.push(piece(word, now), now));
    }
    posts.push(...display.end(now));
    for (let d = display.nextDeadline(); d !== undefined; d = display.nextDeadline()) posts.push(...display.tick(d));
    expect(posts.flatMap((p) => p.tokens.map((t) => t.text))).toEqual(words); // each word appears for the first time once
    for (let i = 1; i < posts.length; i++) {
      expect(posts[i]!.releasedAt - posts[i - 1]!.releasedAt).toBeGreaterThanOrEqual(1_000);
      const lines = posts[i]!.text.split('\n');
      const previous = posts[i - 1]!.text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(32);
      // Either the lower line grew under the same upper line, or the previous lower line moved up unchanged.
      const grew = lines.at(-1)!.startsWith(previous.at(-1)!) && lines.slice(0, -1).join('\n') === previous.slice(0, -1).join('\n');
      expect(grew || lines.at(-2) === previous.at(-1)).toBe(true);
    }
    expect(posts.some((p) => p.text.includes('\n'))).toBe(true);
  });
});

describe('displayPosts', () => {
  it('releases a held block on its own timer while the engine says nothing, and ends after the last block', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    async function* pieces(): AsyncIterable<SettledPiece> {
      yield piece('if you know someone who would be', Date.now());
      await gate; // the engine is quiet
    }
    const seen: string[] = [];
    for await (const post of displayPosts(pieces(), new BlockDisplay({ ...options, maxHoldMs: 50, minShowMs: 100 }))) {
      seen.push(post.text);
      release();
    }
    expect(seen).toEqual(['if you know someone', 'who would be']);
  });
});
