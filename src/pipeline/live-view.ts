import type { DeskView } from './desk.js';
import type { CaptionPost, ConsoleView, MeetingView } from './types.js';

const RECENT_POSTS = 50;
const RECENT_LATENCIES = 60;
/** About two caption lines of the newest settled words. */
const SETTLED_CHARS = 140;
/** The level meter shows the loudest chunk of the last second. */
const LEVEL_WINDOW_MS = 1_000;

/**
 * What the console shows beyond a meeting's snapshot, gathered from its events as they happen: the POSTs Zoom
 * accepted (its transcript panel), the words being recognised, the audio level, recent word latencies.
 */
export class LiveView {
  private readonly posts = new Map<number, CaptionPost[]>();
  private readonly latencies = new Map<number, number[]>();
  private settled = '';
  private interim = '';
  /** Words of the utterance under way settled already: the interim repeats them, and they are shown once. */
  private settledInUtterance = 0;
  private levels: { at: number; db: number }[] = [];

  constructor(private readonly meeting: MeetingView) {
    meeting.on('delivered', ({ index, text, result, wordLatencies }) => {
      if (result.status !== 'accepted' && result.status !== 'written') return;
      const list = this.posts.get(index) ?? [];
      list.push({ seq: result.seq, text, at: result.confirmedAt ?? Date.now() });
      if (list.length > RECENT_POSTS) list.shift();
      this.posts.set(index, list);
      const latencies = this.latencies.get(index) ?? [];
      latencies.push(...wordLatencies);
      if (latencies.length > RECENT_LATENCIES) latencies.splice(0, latencies.length - RECENT_LATENCIES);
      this.latencies.set(index, latencies);
    });
    meeting.on('speech', ({ interim, settled, settledWords = 0, endsUtterance }) => {
      if (interim !== undefined) this.interim = interim;
      if (settled) {
        this.settled = `${this.settled} ${settled}`.trim().slice(-SETTLED_CHARS);
      }
      this.settledInUtterance += settledWords;
      if (endsUtterance) this.settledInUtterance = 0;
    });
    meeting.on('audio', ({ levelDb }) => {
      const now = Date.now();
      this.levels.push({ at: now, db: levelDb });
      if (this.levels.length > 64) this.levels = this.levels.filter((l) => now - l.at < LEVEL_WINDOW_MS);
    });
  }

  view(extra: { paused: boolean; canSwitchEngine: boolean; activeEngine?: string; desk: DeskView }): ConsoleView {
    const snapshot = this.meeting.snapshot();
    const now = Date.now();
    const recent = this.levels.filter((l) => now - l.at < LEVEL_WINDOW_MS);
    return {
      ...snapshot,
      engine: extra.activeEngine && extra.activeEngine !== snapshot.engine ? `${extra.activeEngine} (of ${snapshot.engine})` : snapshot.engine,
      paused: extra.paused,
      canSwitchEngine: extra.canSwitchEngine,
      desk: extra.desk,
      streaming: snapshot.state === 'streaming',
      audioLevelDb: recent.length > 0 ? Math.max(...recent.map((l) => l.db)) : -60,
      words: { settled: this.settled, interim: unsettledTail(this.interim, this.settledInUtterance) },
      destinations: snapshot.destinations.map((destination, index) => ({
        ...destination,
        recentPosts: this.posts.get(index) ?? [],
        recentLatencies: [...(this.latencies.get(index) ?? [])],
      })),
    };
  }
}

/** The words of an interim after the first `settledCount`, which the console shows as settled already. */
export function unsettledTail(interim: string, settledCount: number): string {
  return interim.split(/\s+/).filter(Boolean).slice(settledCount).join(' ');
}
