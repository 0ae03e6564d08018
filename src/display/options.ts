import { z } from 'zod';
import { milliseconds } from '../util/schema.js';
import { DEFAULT_DISPLAY_OPTIONS } from './types.js';

/** How captions are laid out and paced on screen; the mode is chosen per destination. */
export const displayOptions = z.strictObject({
  maxLineChars: z.coerce.number().int().min(10).max(80).optional(),
  maxLines: z.coerce.number().int().min(1).max(4).optional(),
  /** Unset: the engine's (RecognizerCapabilities.blockHoldMs), else DEFAULT_DISPLAY_OPTIONS.maxHoldMs. */
  maxHoldMs: milliseconds(0, 10_000).optional(),
  minShowMs: milliseconds(0, 10_000).default(DEFAULT_DISPLAY_OPTIONS.minShowMs),
  maxCharsPerSecond: z.coerce.number().min(5).max(60).default(DEFAULT_DISPLAY_OPTIONS.maxCharsPerSecond),
  maxLagMs: milliseconds(0, 30_000).default(DEFAULT_DISPLAY_OPTIONS.maxLagMs),
  rollupIntervalMs: milliseconds(0, 10_000).optional(),
  rollupHoldMs: milliseconds(0, 10_000).default(DEFAULT_DISPLAY_OPTIONS.rollupHoldMs),
  speakerMarker: z.string().max(8).default(DEFAULT_DISPLAY_OPTIONS.speakerMarker),
  /** Show who speaks by name at each turn, where Zoom names them (RTMS). Personal data: off unless a meeting opts in. */
  speakerNames: z.boolean().default(DEFAULT_DISPLAY_OPTIONS.speakerNames),
});
