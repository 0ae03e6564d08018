import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AsrConfig, EngineConfig } from './options.js';
import { AssemblyAiRecognizer } from './assemblyai/recognizer.js';
import { AwsTranscribeRecognizer } from './aws-transcribe/recognizer.js';
import { DeepgramRecognizer } from './deepgram/recognizer.js';
import { FallbackRecognizer } from './fallback.js';
import { GoogleSpeechRecognizer } from './google-speech/recognizer.js';
import { OpenAiRealtimeRecognizer } from './openai-realtime/recognizer.js';
import { phraseTexts, type Phrase } from './phrases.js';
import { DEFAULT_MODEL_DIR, POCKETSPHINX_PROFILES } from './pocketsphinx/binding.js';
import { PocketsphinxRecognizer } from './pocketsphinx/recognizer.js';
import { SherpaOnnxRecognizer } from './sherpa-onnx/recognizer.js';
import { SpeechmaticsRecognizer } from './speechmatics/recognizer.js';
import type { SpeechRecognizer } from './types.js';
import { VoskServerRecognizer } from './vosk-server/recognizer.js';
import { WhisperLiveRecognizer } from './whisperlive/recognizer.js';
import { ZoomTranscriptRecognizer } from './zoom-transcript/recognizer.js';

export function createRecognizer(asr: AsrConfig, log: Logger): SpeechRecognizer {
  const engines = [asr, ...asr.fallback].map((engine) => createEngine(engine, asr.phrases, log));
  return engines.length === 1 ? engines[0]! : new FallbackRecognizer(engines, log);
}

// The schema checks each engine's required fields (url, apiKey, modelDir) before this runs.
export function createEngine(asr: EngineConfig, phrases: Phrase[], log: Logger): SpeechRecognizer {
  const timing = { endpointSilenceMs: asr.endpointSilenceMs, partialIntervalMs: asr.partialIntervalMs, maxUtteranceMs: asr.maxUtteranceMs };
  // What every streaming cloud service takes alike: its key, an endpoint (a stand-in or a region), its model, the
  // language, when an utterance ends, and the words to boost.
  const cloud = (defaultModel: string) => ({
    apiKey: asr.apiKey!,
    url: asr.url,
    model: asr.model ?? defaultModel,
    language: asr.language,
    endpointSilenceMs: asr.endpointSilenceMs,
    phrases: phraseTexts(phrases),
  });
  switch (asr.engine) {
    case 'pocketsphinx':
      return new PocketsphinxRecognizer({ modelDir: asr.modelDir ?? DEFAULT_MODEL_DIR, ...timing, phrases, searchArgs: POCKETSPHINX_PROFILES[asr.profile] }, log);
    case 'sherpa-onnx':
      return new SherpaOnnxRecognizer({ modelDir: asr.modelDir!, ...timing, phrases }, asr.language, log);
    case 'vosk-server':
      if (phrases.length > 0) log.warn({ engine: asr.engine }, 'the vosk-server protocol cannot boost words; asr.phrases are ignored for this engine');
      return new VoskServerRecognizer(asr.url!, log);
    case 'deepgram':
      return new DeepgramRecognizer({ ...cloud('nova-3'), diarize: asr.diarize }, log);
    case 'assemblyai':
      return new AssemblyAiRecognizer(cloud('universal-streaming-english'), log);
    case 'openai-realtime':
      // A self-hosted server may take no key.
      return new OpenAiRealtimeRecognizer({ ...cloud('gpt-4o-transcribe'), apiKey: asr.apiKey ?? '', sessionForm: asr.realtimeSession }, log);
    case 'speechmatics':
      return new SpeechmaticsRecognizer({ ...cloud('enhanced'), diarize: asr.diarize }, log);
    case 'aws-transcribe':
      return new AwsTranscribeRecognizer(
        { region: asr.region, url: asr.url, language: asr.language, vocabularyName: asr.vocabularyName, diarize: asr.diarize, phrases: phraseTexts(phrases) },
        log,
      );
    case 'google-speech':
      return new GoogleSpeechRecognizer(
        { project: asr.project!, location: asr.location, model: asr.model ?? 'long', language: asr.language, phrases: phraseTexts(phrases), apiKey: asr.apiKey, url: asr.url },
        log,
      );
    case 'zoom-transcript':
      // Zoom hears the meeting; the words to boost cannot reach its model.
      if (phrases.length > 0) log.warn({ engine: asr.engine }, "Zoom's transcript takes no vocabulary; asr.phrases are ignored for this engine");
      return new ZoomTranscriptRecognizer(log);
    case 'whisperlive':
      return new WhisperLiveRecognizer({ url: asr.url!, model: asr.model ?? 'small', language: asr.language, phrases: phraseTexts(phrases), diarize: asr.diarize }, log);
    default:
      throw new BridgeError('ASR_UNKNOWN_ENGINE', `unknown ASR engine "${asr.engine}"`);
  }
}
