import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeError } from '../../errors.js';
import type { RecognizedWord, SpeechEvent } from '../types.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { LocalDecoder } from '../local/decoder.js';
import type { Phrase } from '../phrases.js';
import { loadNative } from './native.js';
import { latticePartialsApply, PartialLattice } from './partial-lattice.js';
import { leaseLanguageModel, type ModelLease } from './shared-model.js';

export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export interface PocketsphinxOptions {
  /** Folder with en-us/ (acoustic model), en-us.lm.bin and cmudict-en-us.dict, as Debian's pocketsphinx-en-us lays it out. */
  modelDir: string;
  /** Silence that ends an utterance (the engine's VAD hangover). */
  endpointSilenceMs: number;
  /** How often, in audio time, the partial hypothesis is read while someone speaks. */
  partialIntervalMs: number;
  /** An utterance this long is cut, so a speaker who never pauses still gets finals. */
  maxUtteranceMs: number;
  /** Meeting vocabulary: words with a pronunciation are added to the dictionary; the others must already be in it. */
  phrases?: Phrase[];
  /** Search settings (pocketsphinx arguments such as -beam, -maxhmmpf, -fwdflat), from a named profile. */
  searchArgs?: readonly string[];
  /** Partials from the final's own lattice pass over the utterance so far (see partial-lattice.ts); default true. */
  latticePartials?: boolean;
}

/**
 * Named search settings, measured with `npm run bench:profiles` on the bench corpus (170 s of librivox and
 * espeak-ng speech; bench/results/pocketsphinx-profiles-2026-11-24T19-13-27.json, 2-core AMD EPYC):
 * balanced WER 0.507 at 0.190 CPU s per audio s; fast WER 0.507 at 0.085 (fewer HMMs and words per frame, no
 * second flat-lexicon pass, a phone-loop lookahead): the same accuracy there for less than half the CPU.
 */
export const POCKETSPHINX_PROFILES = {
  balanced: [],
  fast: ['-fwdflat', 'no', '-maxhmmpf', '3000', '-maxwpf', '5', '-pl_window', '5'],
} as const satisfies Record<string, readonly string[]>;
export type PocketsphinxProfile = keyof typeof POCKETSPHINX_PROFILES;

// The engine counts in 10 ms feature frames.
const FRAMES_PER_SECOND = 100;
// Audio kept before the frame the VAD first calls speech, so a soft first syllable is not clipped.
const VAD_PRESPEECH_FRAMES = 20;

/** Fillers and markers the engine emits between words; never caption text. */
function isSpokenWord(word: string): boolean {
  return !(word.startsWith('<') || word.startsWith('[') || word.startsWith('++'));
}

/** "read(2)" is the dictionary's second pronunciation of "read". */
function cleanWord(word: string): string {
  return word.replace(/\(\d+\)$/, '');
}

export function cleanHypothesis(hyp: string | null): string {
  if (!hyp) return '';
  return hyp
    .split(/\s+/)
    .filter((w) => w && isSpokenWord(w))
    .map(cleanWord)
    .join(' ');
}

/**
 * One streaming pocketsphinx decoder with its own endpointing. Synchronous and CPU-bound: run it in a worker
 * thread (see worker.ts), never on the event loop that serves ingest and the caption sender.
 */
export class PocketsphinxDecoder implements LocalDecoder {
  readonly notices: string[] = [];
  private readonly lib = loadNative();
  private ps: unknown;
  /** Set when this decoder uses its thread's shared language model (see shared-model.ts). */
  private modelLease: ModelLease | undefined;
  private samplesIn = 0;
  private inUtterance = false;
  private utteranceOpen = false;
  private utteranceStartSample = 0;
  private lastPartialSample = 0;
  private lastPartial = '';
  private readonly partialIntervalSamples: number;
  private readonly maxUtteranceSamples: number;
  private partialLattice: PartialLattice | undefined;

  constructor(options: PocketsphinxOptions) {
    const { modelDir } = options;
    const hmm = join(modelDir, 'en-us');
    const lm = join(modelDir, 'en-us.lm.bin');
    const dict = join(modelDir, 'cmudict-en-us.dict');
    for (const file of [hmm, lm, dict]) {
      if (!existsSync(file)) {
        throw new BridgeError(
          'ASR_MODEL_MISSING',
          `pocketsphinx model file missing: ${file} (install Debian package pocketsphinx-en-us, or set asr.modelDir)`,
        );
      }
    }
    // Words added with a pronunciation go into the language model too (ps_add_word), so a decoder with any keeps
    // a model of its own; the others share one.
    const ownModel = (options.phrases ?? []).some((p) => p.pronunciation);
    const settings = new Map<string, string>([
      ['-hmm', hmm],
      ['-dict', dict],
      // Measured on bench/corpus.ts: WER 0.502 with dither, 0.516 without; the fixed seed keeps runs identical.
      // (It does not rescue a stream that starts with digital silence: see docs/measurements.md.)
      ['-dither', 'yes'],
      ['-seed', '1'],
      ['-vad_postspeech', String(Math.max(10, Math.round(options.endpointSilenceMs / (1000 / FRAMES_PER_SECOND))))],
      ['-vad_prespeech', String(VAD_PRESPEECH_FRAMES)],
    ]);
    if (ownModel) settings.set('-lm', lm);
    // Search settings override the defaults (the library refuses an argument given twice).
    const searchArgs = options.searchArgs ?? [];
    for (let i = 0; i + 1 < searchArgs.length; i += 2) settings.set(searchArgs[i]!, searchArgs[i + 1]!);
    const argv = [...settings].flat();
    const config = this.lib.cmd_ln_parse_r(null, this.lib.ps_args(), argv.length, argv, 1);
    if (!config) throw new BridgeError('ASR_ENGINE_FAILED', `pocketsphinx rejected its arguments: ${argv.join(' ')}`);
    try {
      if (!ownModel) {
        this.modelLease = leaseLanguageModel(this.lib, lm, dict, config, [lm, ...searchArgs].join('\0'));
        if (this.modelLease.dictionaryFile) this.lib.cmd_ln_set_str_r(config, '-dict', this.modelLease.dictionaryFile);
        else this.notices.push(`pocketsphinx: the temporary folder cannot be written, so each meeting loads the whole dictionary (about 12 MB more each)`);
      }
      this.ps = this.lib.ps_init(config);
      this.modelLease?.dictionaryRead();
      if (!this.ps) throw new BridgeError('ASR_ENGINE_FAILED', `pocketsphinx failed to load the model in ${modelDir}`);
      // The search takes its own reference to the shared model.
      if (this.modelLease && (this.lib.ps_set_lm(this.ps, 'ngram', this.modelLease.model) < 0 || this.lib.ps_set_search(this.ps, 'ngram') < 0)) {
        throw new BridgeError('ASR_ENGINE_FAILED', `pocketsphinx could not use the language model ${lm}`);
      }
      if (latticePartialsApply(options)) {
        this.partialLattice = PartialLattice.open(this.lib, this.ps, config);
        if (!this.partialLattice) this.notices.push('pocketsphinx: this build of the library is not the one partials from the lattice pass were checked on; partials come from the live search (captions lose more words to the final)');
      }
    } catch (err) {
      this.free();
      throw err;
    } finally {
      // ps_init took its own reference to the config.
      this.lib.cmd_ln_free_r(config);
    }
    this.addVocabulary(options.phrases ?? []);
    this.partialIntervalSamples = Math.round((options.partialIntervalMs / 1000) * PCM_SAMPLE_RATE);
    this.maxUtteranceSamples = Math.round((options.maxUtteranceMs / 1000) * PCM_SAMPLE_RATE);
    this.resetStream();
  }

  /**
   * pocketsphinx can only recognise words its dictionary has; it has no boosting. A phrase with a pronunciation
   * (CMU phones) is added, also to the language model as a unigram; a phrase without one is checked word by word.
   */
  private addVocabulary(phrases: Phrase[]): void {
    const unknown: string[] = [];
    for (const phrase of phrases) {
      if (phrase.pronunciation) {
        if (this.lib.ps_add_word(this.ps, phrase.text.toLowerCase(), phrase.pronunciation, 1) < 0) {
          throw new BridgeError('ASR_ENGINE_REJECTED', `pocketsphinx refused the pronunciation "${phrase.pronunciation}" of "${phrase.text}" (phones must be CMU phones like K AE T)`);
        }
        continue;
      }
      for (const word of phrase.text.toLowerCase().split(/\s+/)) {
        const phones = this.lib.ps_lookup_word(this.ps, word);
        if (phones) this.lib.ckd_free(phones);
        else unknown.push(word);
      }
    }
    if (unknown.length > 0) {
      this.notices.push(`pocketsphinx does not know these phrase words and will never recognise them: ${unknown.join(', ')}; give each a pronunciation (asr.phrases: [{ text: word, pronunciation: "CMU PHONES" }])`);
    }
  }

  /** Whether partials come from the lattice pass (asked for, and this build of the library allows it). */
  get latticePartials(): boolean {
    return this.partialLattice !== undefined;
  }

  /** Begin a new stream: audio time starts again from zero. */
  resetStream(): void {
    if (this.utteranceOpen) this.lib.ps_end_utt(this.ps);
    this.samplesIn = 0;
    this.inUtterance = false;
    this.lastPartial = '';
    this.lib.ps_start_stream(this.ps);
    this.lib.ps_start_utt(this.ps);
    this.utteranceOpen = true;
  }

  process(pcm: Int16Array): SpeechEvent[] {
    const events: SpeechEvent[] = [];
    this.lib.ps_process_raw(this.ps, pcm, pcm.length, 0, 0);
    this.samplesIn += pcm.length;
    const now = this.samplesIn / PCM_SAMPLE_RATE;
    const inSpeech = this.lib.ps_get_in_speech(this.ps) !== 0;

    if (inSpeech && !this.inUtterance) {
      this.inUtterance = true;
      this.utteranceStartSample = this.samplesIn;
      this.lastPartialSample = this.samplesIn;
      this.lastPartial = '';
      events.push({ type: 'start_of_speech', time: now });
    }
    if (!this.inUtterance) return events;

    if (!inSpeech || this.samplesIn - this.utteranceStartSample >= this.maxUtteranceSamples) {
      events.push(...this.endUtterance());
      return events;
    }
    if (this.samplesIn - this.lastPartialSample >= this.partialIntervalSamples) {
      this.lastPartialSample = this.samplesIn;
      // The best path so far, with timings (measured: the live search's under 0.2 ms per call, the same words as
      // ps_get_hyp; the lattice's 0.3 ms at an utterance's start to 4 ms after 20 s).
      const lattice = this.partialLattice?.bestPath();
      const words = lattice ? this.segmentWords(lattice) : this.wordTimings();
      const text = words.map((w) => w.word).join(' ');
      if (text && text !== this.lastPartial) {
        this.lastPartial = text;
        events.push({ type: 'interim', text, words, time: now });
      }
    }
    return events;
  }

  /** End of the audio (or a client's Finalize): settle whatever is being said now. */
  finish(): SpeechEvent[] {
    return this.inUtterance ? this.endUtterance() : [];
  }

  free(): void {
    if (this.ps) this.lib.ps_free(this.ps);
    this.ps = null;
    // After the decoder: its search held a reference to the model.
    this.modelLease?.release();
  }

  private endUtterance(): SpeechEvent[] {
    this.lib.ps_end_utt(this.ps);
    const now = this.samplesIn / PCM_SAMPLE_RATE;
    const words = this.wordTimings();
    const text = words.map((w) => w.word).join(' ') || cleanHypothesis(this.lib.ps_get_hyp(this.ps, [0]));
    this.inUtterance = false;
    this.lastPartial = '';
    this.lib.ps_start_utt(this.ps);
    const events: SpeechEvent[] = [];
    if (text) events.push({ type: 'final', text, words, time: now });
    events.push({ type: 'end_of_speech', time: now });
    return events;
  }

  /**
   * Words of the current best path (partial or final). Segment frames count from ps_start_stream (measured:
   * they match the audio's own timeline to 10 ms).
   */
  private wordTimings(): RecognizedWord[] {
    return this.segmentWords(this.lib.ps_seg_iter(this.ps));
  }

  /** Reads a segment iterator to its end (which frees it). */
  private segmentWords(first: unknown): RecognizedWord[] {
    const words: RecognizedWord[] = [];
    for (let seg = first; seg; seg = this.lib.ps_seg_next(seg)) {
      const word = this.lib.ps_seg_word(seg);
      if (!isSpokenWord(word)) continue;
      const sf = [0];
      const ef = [0];
      this.lib.ps_seg_frames(seg, sf, ef);
      words.push({
        word: cleanWord(word),
        start: sf[0]! / FRAMES_PER_SECOND,
        end: (ef[0]! + 1) / FRAMES_PER_SECOND,
      });
    }
    return words;
  }
}
