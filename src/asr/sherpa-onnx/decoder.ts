import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { LocalDecoder } from '../local/decoder.js';
import type { Phrase } from '../phrases.js';
import type { RecognizedWord, SpeechEvent } from '../types.js';
import { UtteranceTracker } from '../utterance.js';
import { findSherpaModelFiles } from './model-files.js';

export interface SherpaOnnxOptions {
  modelDir: string;
  endpointSilenceMs: number;
  partialIntervalMs: number;
  maxUtteranceMs: number;
  phrases?: Phrase[];
}

/** The parts of sherpa-onnx-node used here (it ships no TypeScript types). */
interface SherpaStream {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
}
interface SherpaRecognizer {
  createStream(): SherpaStream;
  isReady(stream: SherpaStream): boolean;
  decode(stream: SherpaStream): void;
  isEndpoint(stream: SherpaStream): boolean;
  reset(stream: SherpaStream): void;
  getResult(stream: SherpaStream): { text: string; tokens: string[]; timestamps: number[] };
}
interface SherpaModule {
  OnlineRecognizer: new (config: unknown) => SherpaRecognizer;
}

/** Silence fed after a Finalize so the model emits the words still inside its lookahead. */
const TAIL_PADDING_SECONDS = 0.5;

function loadSherpa(): SherpaModule {
  try {
    return createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
  } catch (err) {
    throw new BridgeError('ASR_ENGINE_UNAVAILABLE', `engine sherpa-onnx needs the npm package sherpa-onnx-node (npm install sherpa-onnx-node): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A sherpa-onnx streaming transducer (zipformer) with the user's model. Its endpoint rules give utterance ends;
 * BPE models also take the meeting's phrases as hotwords (modified beam search).
 */
export class SherpaOnnxDecoder implements LocalDecoder {
  readonly notices: string[] = [];
  private readonly recognizer: SherpaRecognizer;
  private stream: SherpaStream;
  private events: SpeechEvent[] = [];
  private readonly utterance = new UtteranceTracker((event) => this.events.push(event));
  private samplesIn = 0;
  /** Where the current segment (timestamps count from its start) begins in the stream. */
  private segmentStartSample = 0;
  private lastPartialSample = 0;
  private readonly partialIntervalSamples: number;
  private hotwordsDir: string | undefined;

  constructor(options: SherpaOnnxOptions) {
    const files = findSherpaModelFiles(options.modelDir);
    if (typeof files === 'string') throw new BridgeError('ASR_MODEL_MISSING', files);
    const sherpa = loadSherpa();
    const phrases = options.phrases ?? [];
    let hotwords: { hotwordsFile: string; hotwordsScore: number } | undefined;
    if (phrases.length > 0 && files.bpeVocab) {
      this.hotwordsDir = mkdtempSync(join(tmpdir(), 'cb-hotwords-'));
      const hotwordsFile = join(this.hotwordsDir, 'hotwords.txt');
      // English zipformer models have upper-case BPE tokens.
      writeFileSync(hotwordsFile, phrases.map((p) => p.text.toUpperCase()).join('\n') + '\n');
      hotwords = { hotwordsFile, hotwordsScore: 1.5 };
    } else if (phrases.length > 0) {
      this.notices.push(`this sherpa-onnx model has no bpe.vocab, so asr.phrases cannot be boosted and are ignored`);
    }
    try {
      this.recognizer = new sherpa.OnlineRecognizer({
        featConfig: { sampleRate: PCM_SAMPLE_RATE, featureDim: 80 },
        modelConfig: {
          transducer: { encoder: files.encoder, decoder: files.decoder, joiner: files.joiner },
          tokens: files.tokens,
          numThreads: 1,
          provider: 'cpu',
          debug: 0,
          ...(hotwords ? { modelingUnit: 'bpe', bpeVocab: files.bpeVocab } : {}),
        },
        decodingMethod: hotwords ? 'modified_beam_search' : 'greedy_search',
        ...hotwords,
        enableEndpoint: true,
        rule1MinTrailingSilence: 2.4,
        rule2MinTrailingSilence: options.endpointSilenceMs / 1000,
        rule3MinUtteranceLength: options.maxUtteranceMs / 1000,
      });
    } catch (err) {
      throw new BridgeError('ASR_ENGINE_FAILED', `sherpa-onnx could not load the model in ${options.modelDir}: ${(err as Error).message}`, { cause: err });
    }
    this.stream = this.recognizer.createStream();
    this.partialIntervalSamples = Math.round((options.partialIntervalMs / 1000) * PCM_SAMPLE_RATE);
  }

  resetStream(): void {
    this.stream = this.recognizer.createStream();
    this.samplesIn = 0;
    this.segmentStartSample = 0;
    this.lastPartialSample = 0;
    this.utterance.endOfSpeech(0);
    this.events = [];
  }

  process(pcm: Int16Array): SpeechEvent[] {
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i]! / 32_768;
    this.stream.acceptWaveform({ samples, sampleRate: PCM_SAMPLE_RATE });
    this.samplesIn += pcm.length;
    this.decodeReady();
    if (this.recognizer.isEndpoint(this.stream)) this.endSegment();
    else if (this.samplesIn - this.lastPartialSample >= this.partialIntervalSamples) {
      this.lastPartialSample = this.samplesIn;
      const words = this.words();
      this.utterance.interim(words.map((w) => w.word).join(' '), words, this.now());
    }
    return this.take();
  }

  finish(): SpeechEvent[] {
    this.stream.acceptWaveform({ samples: new Float32Array(Math.round(TAIL_PADDING_SECONDS * PCM_SAMPLE_RATE)), sampleRate: PCM_SAMPLE_RATE });
    this.decodeReady();
    this.endSegment();
    return this.take();
  }

  free(): void {
    if (this.hotwordsDir) rmSync(this.hotwordsDir, { recursive: true, force: true });
    this.hotwordsDir = undefined;
  }

  private now(): number {
    return this.samplesIn / PCM_SAMPLE_RATE;
  }

  private decodeReady(): void {
    while (this.recognizer.isReady(this.stream)) this.recognizer.decode(this.stream);
  }

  private endSegment(): void {
    const words = this.words();
    this.utterance.final(words.map((w) => w.word).join(' '), words, this.now());
    this.recognizer.reset(this.stream);
    this.segmentStartSample = this.samplesIn;
  }

  private words(): RecognizedWord[] {
    const { tokens, timestamps } = this.recognizer.getResult(this.stream);
    return wordsFromTokens(tokens, timestamps, this.segmentStartSample / PCM_SAMPLE_RATE);
  }

  private take(): SpeechEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }
}

/**
 * BPE tokens joined into words: a token starting with "▁" (or a space) begins a new word. Most English models spell
 * in capitals without punctuation; a model that cases and punctuates ("▁Hello", ",") keeps its written form as the
 * word's `display`, so its sentence ends cut caption blocks, while the word itself stays plain for the text rules.
 */
export function wordsFromTokens(tokens: readonly string[], timestamps: readonly number[], offsetSeconds: number): RecognizedWord[] {
  const written: { text: string; start: number; end: number }[] = [];
  let spaceBefore = true;
  tokens.forEach((token, i) => {
    const time = offsetSeconds + (timestamps[i] ?? 0);
    const piece = token.replace(/^[▁ ]/, '');
    spaceBefore ||= piece !== token;
    if (!piece) return;
    // Punctuation belongs to the word before it, whatever the tokenizer did with the space.
    const last = written.at(-1);
    if (last && (!spaceBefore || /^[.,;:?!]+$/.test(piece))) {
      last.text += piece;
      last.end = time;
    } else written.push({ text: piece, start: time, end: time });
    spaceBefore = false;
  });
  // An all-capitals model says nothing about case: only a mixed-case spelling or punctuation is a written form.
  const cased = written.some((w) => /\p{Ll}/u.test(w.text));
  return written.flatMap(({ text, start, end }): RecognizedWord[] => {
    const word = text.toLowerCase().replace(/[.,;:?!]+$/, '');
    if (!word) return [];
    const display = cased ? text : word + text.slice(word.length);
    return [{ word, start, end: Math.max(end, start) + 0.04, ...(display !== word ? { display } : {}) }];
  });
}
