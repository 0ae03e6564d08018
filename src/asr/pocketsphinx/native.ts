import koffi from 'koffi';
import { BridgeError } from '../../errors.js';

/** The parts of libpocketsphinx (5prealpha, Debian's libpocketsphinx3) and libsphinxbase the bridge calls. */
export interface Native {
  ps_args: () => unknown;
  cmd_ln_parse_r: (inout: unknown, defn: unknown, argc: number, argv: string[], strict: number) => unknown;
  cmd_ln_free_r: (config: unknown) => number;
  ps_init: (config: unknown) => unknown;
  ps_free: (ps: unknown) => number;
  ps_start_stream: (ps: unknown) => number;
  ps_start_utt: (ps: unknown) => number;
  ps_end_utt: (ps: unknown) => number;
  ps_process_raw: (ps: unknown, data: Int16Array, n: number, noSearch: number, fullUtt: number) => number;
  ps_get_hyp: (ps: unknown, score: number[]) => string | null;
  ps_get_in_speech: (ps: unknown) => number;
  ps_seg_iter: (ps: unknown) => unknown;
  ps_seg_next: (seg: unknown) => unknown;
  ps_seg_word: (seg: unknown) => string;
  ps_seg_frames: (seg: unknown, sf: number[], ef: number[]) => void;
  ps_get_n_frames: (ps: unknown) => number;
  ps_get_search: (ps: unknown) => string | null;
  ps_get_lm: (ps: unknown, name: string) => unknown;
  ps_get_lattice: (ps: unknown) => unknown;
  ps_lattice_bestpath: (dag: unknown, lmset: unknown, lwf: number, ascale: number) => unknown;
  ps_lattice_seg_iter: (dag: unknown, link: unknown, lwf: number) => unknown;
  /** Library-internal (exported, not in its headers): see partial-lattice.ts. */
  ngram_search_mark_bptable: (search: unknown, frame: number) => number;
  ps_add_word: (ps: unknown, word: string, phones: string, update: number) => number;
  ps_lookup_word: (ps: unknown, word: string) => unknown;
  ps_set_lm: (ps: unknown, name: string, lm: unknown) => number;
  ps_set_search: (ps: unknown, name: string) => number;
  ngram_model_read: (config: unknown, file: string, type: number, logmath: unknown) => unknown;
  ngram_model_free: (lm: unknown) => number;
  /** How many words (unigrams) a language model has. */
  unigramCount: (lm: unknown) => number;
  ngram_word: (lm: unknown, wid: number) => string;
  cmd_ln_float_r: (config: unknown, name: string) => number;
  cmd_ln_int_r: (config: unknown, name: string) => number;
  cmd_ln_set_str_r: (config: unknown, name: string, value: string) => void;
  logmath_init: (base: number, shift: number, useTable: number) => unknown;
  logmath_free: (logmath: unknown) => number;
  ckd_free: (ptr: unknown) => void;
}

let native: Native | undefined;

export function loadNative(): Native {
  if (native) return native;
  let ps: ReturnType<typeof koffi.load>;
  let sb: ReturnType<typeof koffi.load>;
  try {
    ps = koffi.load('libpocketsphinx.so.3');
    sb = koffi.load('libsphinxbase.so.3');
  } catch (err) {
    throw new BridgeError(
      'ASR_MODEL_MISSING',
      'libpocketsphinx.so.3 not found: install Debian packages libpocketsphinx3 and pocketsphinx-en-us (scripts/setup does)',
      { cause: err },
    );
  }
  // The library's log is off for the whole process (the bridge reports what matters itself). Not with a log file
  // (err_set_logfile, or a decoder's -logfn): each of those opens a new file and closes the one in use, which races
  // between decoder threads starting together or logging meanwhile: measured 2 crashes ("double free", "free():
  // unaligned chunk") and a hang in 40 starts of ten meetings. Turning the log off only sets two variables.
  (sb.func('void err_set_logfp(void *stream)') as (stream: null) => void)(null);
  const getCounts = sb.func('uint32_t *ngram_model_get_counts(void *model)') as (model: unknown) => unknown;
  native = {
    ps_args: ps.func('void *ps_args()'),
    cmd_ln_parse_r: sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int argc, const char **argv, int strict)'),
    cmd_ln_free_r: sb.func('int cmd_ln_free_r(void *config)'),
    ps_init: ps.func('void *ps_init(void *config)'),
    ps_free: ps.func('int ps_free(void *ps)'),
    ps_start_stream: ps.func('int ps_start_stream(void *ps)'),
    ps_start_utt: ps.func('int ps_start_utt(void *ps)'),
    ps_end_utt: ps.func('int ps_end_utt(void *ps)'),
    ps_process_raw: ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)'),
    ps_get_hyp: ps.func('const char *ps_get_hyp(void *ps, _Out_ int32_t *score)'),
    ps_get_in_speech: ps.func('uint8_t ps_get_in_speech(void *ps)'),
    ps_seg_iter: ps.func('void *ps_seg_iter(void *ps)'),
    ps_seg_next: ps.func('void *ps_seg_next(void *seg)'),
    ps_seg_word: ps.func('const char *ps_seg_word(void *seg)'),
    ps_seg_frames: ps.func('void ps_seg_frames(void *seg, _Out_ int *sf, _Out_ int *ef)'),
    ps_get_n_frames: ps.func('int ps_get_n_frames(void *ps)'),
    ps_get_search: ps.func('const char *ps_get_search(void *ps)'),
    ps_get_lm: ps.func('void *ps_get_lm(void *ps, const char *name)'),
    ps_get_lattice: ps.func('void *ps_get_lattice(void *ps)'),
    ps_lattice_bestpath: ps.func('void *ps_lattice_bestpath(void *dag, void *lmset, float lwf, float ascale)'),
    ps_lattice_seg_iter: ps.func('void *ps_lattice_seg_iter(void *dag, void *link, float lwf)'),
    ngram_search_mark_bptable: ps.func('int ngram_search_mark_bptable(void *ngs, int frame_idx)'),
    ps_add_word: ps.func('int ps_add_word(void *ps, const char *word, const char *phones, int update)'),
    ps_lookup_word: ps.func('void *ps_lookup_word(void *ps, const char *word)'),
    ps_set_lm: ps.func('int ps_set_lm(void *ps, const char *name, void *lm)'),
    ps_set_search: ps.func('int ps_set_search(void *ps, const char *name)'),
    ngram_model_read: sb.func('void *ngram_model_read(void *config, const char *file, int type, void *lmath)'),
    ngram_model_free: sb.func('int ngram_model_free(void *model)'),
    unigramCount: (model) => (koffi.decode(getCounts(model), 'uint32_t', 1) as number[])[0]!,
    ngram_word: sb.func('const char *ngram_word(void *model, int32_t wid)'),
    cmd_ln_float_r: sb.func('double cmd_ln_float_r(void *config, const char *name)'),
    cmd_ln_int_r: sb.func('long cmd_ln_int_r(void *config, const char *name)'),
    cmd_ln_set_str_r: sb.func('void cmd_ln_set_str_r(void *config, const char *name, const char *value)'),
    logmath_init: sb.func('void *logmath_init(double base, int shift, int use_table)'),
    logmath_free: sb.func('int logmath_free(void *logmath)'),
    ckd_free: sb.func('void ckd_free(void *ptr)'),
  };
  return native;
}

