import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The files of a streaming transducer (zipformer) model as sherpa-onnx publishes them. */
export interface SherpaModelFiles {
  encoder: string;
  decoder: string;
  joiner: string;
  tokens: string;
  /** Present in BPE models; needed to boost phrases (hotwords). */
  bpeVocab?: string;
}

/** Where to get a model; docs/engines.md says the same. */
export const SHERPA_MODEL_HINT =
  'download a streaming transducer model, e.g. https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/sherpa-onnx-streaming-zipformer-en-2023-06-26.tar.bz2, and unpack it there';

/**
 * Finds the model's files in `dir` (int8 variants preferred: about twice as fast on CPU), or says what is missing.
 * Used by the config check, so a wrong folder is reported by `--check` and at start, not when a meeting begins.
 */
export function findSherpaModelFiles(dir: string): SherpaModelFiles | string {
  if (!existsSync(dir)) return `model folder ${dir} does not exist; ${SHERPA_MODEL_HINT}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    return `model folder ${dir} cannot be read: ${(err as Error).message}`;
  }
  const pick = (part: string): string | undefined => {
    const candidates = names.filter((n) => n.startsWith(part) && n.endsWith('.onnx')).sort();
    return candidates.find((n) => n.includes('int8')) ?? candidates[0];
  };
  const encoder = pick('encoder');
  const decoder = pick('decoder');
  const joiner = pick('joiner');
  const missing = [encoder ? '' : 'encoder*.onnx', decoder ? '' : 'decoder*.onnx', joiner ? '' : 'joiner*.onnx', names.includes('tokens.txt') ? '' : 'tokens.txt'].filter(Boolean);
  if (missing.length > 0) return `model folder ${dir} lacks ${missing.join(', ')} (a streaming transducer model is needed); ${SHERPA_MODEL_HINT}`;
  return {
    encoder: join(dir, encoder!),
    decoder: join(dir, decoder!),
    joiner: join(dir, joiner!),
    tokens: join(dir, 'tokens.txt'),
    bpeVocab: names.includes('bpe.vocab') ? join(dir, 'bpe.vocab') : undefined,
  };
}
