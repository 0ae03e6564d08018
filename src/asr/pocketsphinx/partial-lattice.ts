import koffi from 'koffi';
import type { Native } from './native.js';

/**
 * The utterance's final is pocketsphinx's lattice pass (`-bestpath`): the best path through the word graph of the
 * whole utterance, which rewrites words the live search had shown for seconds. Partials from that same pass over
 * the utterance so far agree with the final far more often, so a caption shown before the utterance ends is
 * already what the final would say (test/integration/pocketsphinx.test.ts; bench:accuracy).
 *
 * The library builds that graph only at the utterance end: its graph builder reads where the backpointers of the
 * frame after the last one start, which the search writes when that frame begins. Mid-utterance that entry is
 * stale, so it is written first, with the value the next frame will write anyway (the library's own
 * `ngram_search_mark_bptable`). That needs the decoder's search, which the public API does not return: it is read
 * from the decoder at the offsets Debian's 5prealpha lays out, and each offset is checked against what the public
 * API says before it is trusted. Where a check fails (another build) partials stay as the live search gives them.
 */
export class PartialLattice {
  private constructor(
    private readonly lib: Native,
    private readonly ps: unknown,
    private readonly search: unknown,
    private readonly lmset: unknown,
    /** Frames the main search trails the audio by (the phone-loop lookahead window). */
    private readonly lookaheadFrames: number,
    /** The final's language weight relative to the live search's, and its acoustic scale (as ngram_search sets them). */
    private readonly lwRatio: number,
    private readonly ascale: number,
  ) {}

  /** For a decoder whose search settings allow it (see `latticePartialsApply`); undefined where this build does not. */
  static open(lib: Native, ps: unknown, config: unknown): PartialLattice | undefined {
    const layout = DECODER_LAYOUT;
    const same = (a: unknown, b: unknown): boolean => a !== null && b !== null && koffi.address(a) === koffi.address(b);
    if (!same(koffi.decode(ps, layout.config, 'void *'), config)) return undefined;
    const search = koffi.decode(ps, layout.search, 'void *') as unknown;
    const name = lib.ps_get_search(ps);
    if (!search || !name) return undefined;
    if (koffi.decode(search, layout.searchName, 'const char *') !== name || koffi.decode(search, layout.searchType, 'const char *') !== 'ngram') return undefined;
    if (!same(koffi.decode(search, layout.searchConfig, 'void *'), config)) return undefined;
    const lookaheadFrames = koffi.decode(ps, layout.lookaheadWindow, 'int') as number;
    if (lookaheadFrames !== lib.cmd_ln_int_r(config, '-pl_window')) return undefined;
    const lmset = lib.ps_get_lm(ps, name);
    if (!lmset) return undefined;
    const lwRatio = lib.cmd_ln_float_r(config, '-bestpathlw') / lib.cmd_ln_float_r(config, '-lw');
    return new PartialLattice(lib, ps, search, lmset, lookaheadFrames, lwRatio, 1 / lib.cmd_ln_float_r(config, '-ascale'));
  }

  /** The best path so far as a segment iterator (the caller reads it to its end), or undefined when there is none yet. */
  bestPath(): unknown {
    // After each frame the search has done output_frame - lookahead frames (ps_search_forward), and
    // ps_get_n_frames is output_frame + 1.
    const searched = this.lib.ps_get_n_frames(this.ps) - 1 - this.lookaheadFrames;
    if (searched <= 0) return undefined;
    this.lib.ngram_search_mark_bptable(this.search, searched);
    const dag = this.lib.ps_get_lattice(this.ps);
    if (!dag) return undefined;
    const link = this.lib.ps_lattice_bestpath(dag, this.lmset, this.lwRatio, this.ascale);
    return link ? this.lib.ps_lattice_seg_iter(dag, link, this.lwRatio) : undefined;
  }
}

/**
 * Whether partials come from the lattice pass: asked for (the default), the pass is on (`-bestpath`, the default)
 * and the final is made from the live search's own table, with no flat-lexicon pass (`-fwdflat no`, the fast
 * profile). With that pass (the balanced profile) the final comes from a second search, whose table the graph
 * builder then assumes, and partials from the live search's table agreed with the final less often than the live
 * search's own (0.56 vs 0.61 of their words on the librivox clips).
 */
export function latticePartialsApply({ searchArgs = [], latticePartials = true }: { searchArgs?: readonly string[]; latticePartials?: boolean }): boolean {
  if (!latticePartials) return false;
  const setting = (name: string, fallback: string): string => {
    const at = searchArgs.lastIndexOf(name);
    return at >= 0 && at + 1 < searchArgs.length ? searchArgs[at + 1]! : fallback;
  };
  return setting('-bestpath', 'yes') !== 'no' && setting('-fwdflat', 'yes') === 'no';
}

/**
 * Byte offsets in pocketsphinx 5prealpha's `ps_decoder_t` (config, refcount, acmod, dict, d2p, lmath, searches,
 * search, phone_loop, pl_window) and `ps_search_t` (vt, type, name, pls, config) on a 64-bit build.
 */
const DECODER_LAYOUT = { config: 0, search: 56, lookaheadWindow: 72, searchType: 8, searchName: 16, searchConfig: 32 } as const;
