import { z } from 'zod';

/** Schema pieces every feature's options use, so a port or a language tag is checked the same way everywhere. */
export const port = z.coerce.number().int().min(0).max(65_535);
export const milliseconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const language = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a language tag like en-US');

/** A problem found outside the parser (a missing model folder), at a path below the feature's own options. */
export interface OptionProblem {
  path: (string | number)[];
  message: string;
}
