import type { SpeechEvent } from '../../src/asr/types.js';
import { FINALIZE, type AudioItem } from '../../src/audio.js';

export interface ChunkOptions {
  /** Samples per chunk: 1600 is 100 ms. */
  size?: number;
  /**
   * Wait this long before each chunk. A stand-in service on this process's event loop then keeps up, as a real
   * service does with live audio; unpaced, the whole file would be sent before its first reply.
   */
  paceMs?: number;
  /** A client's Finalize, in order with the audio, before the chunk at this sample. */
  finalizeAt?: number;
  /** The audio itself stops for a while (a muted mixer) before the chunk at this sample. */
  pause?: { at: number; ms: number };
}

/** A recognizer's audio input, cut from whole samples as ingest would deliver it. */
export async function* audioChunks(samples: Int16Array, options: ChunkOptions = {}): AsyncIterable<AudioItem> {
  const { size = 1_600, paceMs, finalizeAt, pause } = options;
  const reaches = (at: number, i: number): boolean => i >= at && i - size < at;
  for (let i = 0; i < samples.length; i += size) {
    if (finalizeAt !== undefined && reaches(finalizeAt, i)) yield FINALIZE;
    if (pause && reaches(pause.at, i)) await new Promise((r) => setTimeout(r, pause.ms));
    if (paceMs !== undefined) await new Promise((r) => setTimeout(r, paceMs));
    yield samples.slice(i, i + size);
  }
}

export async function collectEvents(events: AsyncIterable<SpeechEvent>): Promise<SpeechEvent[]> {
  const out: SpeechEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

export const finalText = (events: SpeechEvent[]): string => events.flatMap((e) => (e.type === 'final' ? [e.text] : [])).join(' ');
