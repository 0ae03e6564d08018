import { BlockDisplay } from './blocks.js';
import { RollupDisplay } from './rollup.js';
import type { CaptionDisplay, DisplayMode, DisplayOptions } from './types.js';

export function createDisplay(mode: DisplayMode, options: DisplayOptions): CaptionDisplay {
  return mode === 'rollup' ? new RollupDisplay(options) : new BlockDisplay(options);
}
