import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeError } from '../../errors.js';
import type { Native } from './native.js';

const NGRAM_AUTO = 0;

interface SharedModel {
  model: unknown;
  users: number;
  /** The dictionary's entries for words the model knows: the only ones a search with it can ever use. */
  dictionary: string;
}

/**
 * Language models shared by this thread's decoders, by file and search settings. The model is the largest part
 * of a decoder (measured: 33 of 91 MB) and a search only reads it; but its scoring keeps a small cache, so it is
 * shared within a thread, never across threads (each thread loads this module, and so this map, once).
 */
const models = new Map<string, SharedModel>();

/** A decoder's hold on its thread's shared model. */
export interface ModelLease {
  readonly model: unknown;
  /** A dictionary file of only the model's words, to load the decoder with; undefined when none could be written. */
  readonly dictionaryFile: string | undefined;
  /** Call once the decoder has read the dictionary. */
  dictionaryRead(): void;
  /** Call when the decoder is freed: the last user frees the model. */
  release(): void;
}

/**
 * The shared model for `lmFile` under `config` (its -lw, -wip and -logbase shape the scores the model holds, so
 * they are part of the key), read on first use.
 */
export function leaseLanguageModel(lib: Native, lmFile: string, dictFile: string, config: unknown, key: string): ModelLease {
  let shared = models.get(key);
  if (!shared) {
    // The decoder does not exist yet (it is loaded with the dictionary made from this model), so the model gets
    // its own log table, with the base the decoder will use (ps_init makes its own the same way).
    const logmath = lib.logmath_init(lib.cmd_ln_float_r(config, '-logbase'), 0, 1);
    const model = lib.ngram_model_read(config, lmFile, NGRAM_AUTO, logmath);
    lib.logmath_free(logmath); // the model keeps its own reference
    if (!model) throw new BridgeError('ASR_ENGINE_FAILED', `pocketsphinx could not read the language model ${lmFile}`);
    shared = { model, users: 0, dictionary: dictionaryFor(lib, model, dictFile) };
    models.set(key, shared);
  }
  shared.users += 1;
  const lease = shared;
  const dictionaryFolder = writeDictionary(lease.dictionary);
  let released = false;
  return {
    model: lease.model,
    dictionaryFile: dictionaryFolder && join(dictionaryFolder, 'words.dict'),
    dictionaryRead: () => {
      if (dictionaryFolder) rmSync(dictionaryFolder, { recursive: true, force: true });
    },
    release: () => {
      if (released) return;
      released = true;
      if (--lease.users > 0) return;
      lib.ngram_model_free(lease.model);
      models.delete(key);
    },
  };
}

/**
 * cmudict has 134,723 entries, the language model 72,547 words: a search skips dictionary words the model does
 * not know, yet each decoder would hold them all (measured: 11.6 MB per decoder).
 */
function dictionaryFor(lib: Native, model: unknown, dictFile: string): string {
  const vocabulary = new Set<string>();
  for (let wid = 0, n = lib.unigramCount(model); wid < n; wid++) vocabulary.add(lib.ngram_word(model, wid));
  return readFileSync(dictFile, 'utf8')
    .split('\n')
    .filter((line) => vocabulary.has(line.slice(0, line.indexOf(' ')).replace(/\(\d+\)$/, '')))
    .join('\n')
    .concat('\n');
}

/** A private folder with the dictionary, or undefined when the temporary folder cannot be written (then the full one is used). */
function writeDictionary(text: string): string | undefined {
  try {
    const folder = mkdtempSync(join(tmpdir(), 'caption-bridge-dict-'));
    writeFileSync(join(folder, 'words.dict'), text, { mode: 0o600 });
    return folder;
  } catch {
    return undefined;
  }
}
