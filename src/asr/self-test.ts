import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PCM_SAMPLE_RATE, type AudioItem } from '../audio.js';
import { errorMessage, isBridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readWav } from '../util/wav.js';
import { wordErrorRate } from '../util/wer.js';
import { createEngine } from './create.js';
import type { AsrConfig, EngineConfig } from './options.js';
import { networkProblem } from '../util/network-problem.js';

/**
 * The speech every engine is sent (assets/README.md): two read sentences (8 s), then 1.5 s more of quiet, as a
 * meeting's pause, so an engine that ends utterances on silence ends the last one; and their words.
 */
const SPEECH_FILE = fileURLToPath(new URL('../../assets/self-test.wav', import.meta.url));
export const SELF_TEST_WORDS = 'he was not an ill disposed young man he might even have been made amiable himself';
/** Audio goes at the pace of speech, in 100 ms chunks, as a meeting's would. */
const CHUNK_MS = 100;

/** One engine's answer to a short real session. */
export interface EngineCheck {
  /** The engine, as the config names it (its model and address, never its key). */
  engine: string;
  /** Where it is used: meetings[0].asr, meetings[0].asr.fallback[1], accountMeetings.asr. */
  where: string[];
  ok: boolean;
  /** How far it got: reached (the connection), accepted (key, model, language), heard (words came back). */
  reached: boolean;
  accepted: boolean;
  heard: string;
  /** Word error rate of what it heard against the sentences sent. */
  wer?: number;
  /** From the first audio sent. */
  firstInterimMs?: number;
  firstFinalMs?: number;
  problem?: string;
  /** Nothing can be tried before a meeting (Zoom's own transcript): why, instead of a result. */
  skipped?: string;
}

/** Every distinct engine of a config (each meeting's, each fallback, the account template's), with where it is used. */
export function configuredEngines(sources: { where: string; asr: AsrConfig }[]): { engine: EngineConfig; phrases: AsrConfig['phrases']; where: string[] }[] {
  const found = new Map<string, { engine: EngineConfig; phrases: AsrConfig['phrases']; where: string[] }>();
  for (const { where, asr } of sources) {
    [asr, ...asr.fallback].forEach((engine, i) => {
      const { fallback: _fallback, phrases: _phrases, ...spec } = engine as EngineConfig & Partial<AsrConfig>;
      const key = JSON.stringify(spec);
      const place = i === 0 ? where : `${where}.fallback[${i - 1}]`;
      const known = found.get(key);
      if (known) known.where.push(place);
      else found.set(key, { engine: spec as EngineConfig, phrases: asr.phrases, where: [place] });
    });
  }
  return [...found.values()];
}

/** How an engine is named to the reader: its kind, model and address; never its key. */
export function engineLabel(engine: EngineConfig): string {
  const parts = [engine.engine, engine.model, engine.url ? new URL(engine.url).host : undefined].filter(Boolean);
  return parts.join(' ');
}

/**
 * Opens a short real session with one engine (the keys from the environment, as the daemon would), sends the shipped
 * speech at the pace of speech, and says how far it got: reached, key/model/language accepted, what it heard and
 * how soon. Never throws; never names the key.
 */
export async function checkEngine(engine: EngineConfig, phrases: AsrConfig['phrases'], where: string[], log: Logger, timeoutMs = 30_000): Promise<EngineCheck> {
  const check: EngineCheck = { engine: engineLabel(engine), where, ok: false, reached: false, accepted: false, heard: '' };
  if (engine.engine === 'zoom-transcript') {
    const skipped = "nothing to try before a meeting: Zoom's transcript comes with each meeting's RTMS stream (a stream whose transcript Zoom refuses is logged, and a fallback engine takes over)";
    return { ...check, ok: true, skipped };
  }
  let recognizer;
  try {
    recognizer = createEngine(engine, phrases, log);
  } catch (err) {
    return { ...check, problem: errorMessage(err) };
  }
  try {
    await withTimeout(recognizer.start(), timeoutMs, 'the engine did not start');
    check.reached = true;
    check.accepted = true;
    const { samples } = readWav(SPEECH_FILE);
    const startedAt = Date.now();
    const step = (PCM_SAMPLE_RATE * CHUNK_MS) / 1000;
    async function* speech(): AsyncIterable<AudioItem> {
      for (let at = 0; at < samples.length; at += step) {
        yield samples.subarray(at, at + step);
        await sleep(Math.max(0, startedAt + ((at + step) / PCM_SAMPLE_RATE) * 1000 - Date.now()));
      }
    }
    const finals: string[] = [];
    let lastInterim = '';
    const listening = (async () => {
      for await (const event of recognizer.transcribe(speech())) {
        if (event.type === 'interim' && event.text.trim()) {
          check.firstInterimMs ??= Date.now() - startedAt;
          lastInterim = event.text.trim();
        }
        if (event.type === 'final') lastInterim = '';
        if (event.type === 'final' && event.text.trim()) {
          check.firstFinalMs ??= Date.now() - startedAt;
          finals.push(event.text);
        }
      }
    })();
    await withTimeout(listening, timeoutMs + (samples.length / PCM_SAMPLE_RATE) * 1000, 'the engine did not finish the speech');
    // Words still only interim when the stream ended count as heard: the engine understood them.
    check.heard = [...finals, lastInterim].join(' ').trim();
    check.wer = wordErrorRate(SELF_TEST_WORDS, check.heard).wer;
    check.ok = check.heard.length > 0;
    if (!check.ok) check.problem = 'it heard no words in 8 s of clear speech';
    else if (check.firstFinalMs === undefined) check.problem = 'no final before the stream ended';
  } catch (err) {
    const message = errorMessage(err);
    // A refused key or request means the engine was reached; a failure to connect means it was not.
    const refused = isBridgeError(err, 'ASR_AUTH_FAILED') || isBridgeError(err, 'ASR_ENGINE_REJECTED');
    check.reached ||= refused;
    check.problem = isBridgeError(err, 'ASR_AUTH_FAILED') ? `the key was refused: ${message}` : refused ? `the model, language or options were refused: ${message}` : networkProblem(message);
  } finally {
    await recognizer.close().catch(() => undefined);
  }
  return check;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${Math.round(ms / 1000)} s`)), ms)))]).finally(() => clearTimeout(timer));
}

/** One line per engine, as `engines --check` prints it. */
export function formatCheck(check: EngineCheck): string {
  if (check.skipped) return `skip ${check.engine} [${check.where.join(', ')}]: ${check.skipped}`;
  const mark = check.ok ? 'ok  ' : 'FAIL';
  const steps = `reached ${check.reached ? 'yes' : 'no'}, accepted ${check.accepted ? 'yes' : 'no'}`;
  const seconds = (ms: number | undefined): string => (ms === undefined ? 'none' : `${(ms / 1000).toFixed(1)} s`);
  const timing = check.ok ? `, first interim ${seconds(check.firstInterimMs)}, first final ${seconds(check.firstFinalMs)}` : '';
  const heard = check.ok ? `; heard "${check.heard}" (WER ${check.wer!.toFixed(2)})` : `; ${check.problem}`;
  return `${mark} ${check.engine} [${check.where.join(', ')}]: ${steps}${timing}${heard}`;
}
