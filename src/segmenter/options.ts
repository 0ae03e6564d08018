import { z } from 'zod';
import { milliseconds } from '../util/schema.js';
import { DEFAULT_SEGMENTER_OPTIONS } from './segmenter.js';
import { DEFAULT_TEXT_OPTIONS } from './text-rules.js';

export const segmenterOptions = z.strictObject({
  /** Unset: the engine's own (RecognizerCapabilities.settleAfterMs), else DEFAULT_SEGMENTER_OPTIONS.stableMs. */
  stableMs: milliseconds(0, 5_000).optional(),
  holdBackWords: z.coerce.number().int().min(0).max(5).default(DEFAULT_SEGMENTER_OPTIONS.holdBackWords),
  /** Before the display stage these lived here; still read (display's own keys win), so older files keep working. */
  maxLineChars: z.coerce.number().int().min(10).max(80).optional(),
  maxLines: z.coerce.number().int().min(1).max(4).optional(),
  minIntervalMs: milliseconds(0, 10_000).optional(),
});

export const textOptions = z.strictObject({
  fillers: z.enum(['drop', 'keep']).default(DEFAULT_TEXT_OPTIONS.fillers),
  fillerWords: z.array(z.string().min(1)).default(DEFAULT_TEXT_OPTIONS.fillerWords),
  numbers: z.enum(['digits', 'words']).default(DEFAULT_TEXT_OPTIONS.numbers),
  profanity: z.enum(['keep', 'mask']).default(DEFAULT_TEXT_OPTIONS.profanity),
  replacements: z.record(z.string().min(1), z.string().min(1)).default({}),
});
