import { parentPort } from 'node:worker_threads';
import { isBridgeError } from '../../errors.js';
import type { LocalDecoder } from './decoder.js';
import type { FromWorker, LocalEngineSpec, ToWorker } from './protocol.js';

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

/** Loaded on demand, so a thread running one engine never loads the other's native library. */
async function createDecoder(spec: LocalEngineSpec): Promise<LocalDecoder> {
  if (spec.kind === 'pocketsphinx') {
    const { PocketsphinxDecoder } = await import('../pocketsphinx/binding.js');
    return new PocketsphinxDecoder(spec.options);
  }
  const { SherpaOnnxDecoder } = await import('../sherpa-onnx/decoder.js');
  return new SherpaOnnxDecoder(spec.options);
}

// This thread's decoders, one per meeting it serves. Messages for one decoder arrive in order; opening is the
// only asynchronous step, so messages that arrive meanwhile wait for it.
const decoders = new Map<number, Promise<LocalDecoder | undefined>>();

function failed(decoder: number, err: unknown): FromWorker {
  return { type: 'failed', decoder, code: isBridgeError(err) ? err.code : 'ASR_ENGINE_FAILED', message: err instanceof Error ? err.message : String(err) };
}

function open(id: number, spec: LocalEngineSpec): void {
  decoders.set(
    id,
    createDecoder(spec).then(
      (decoder) => {
        post({ type: 'opened', decoder: id, notices: decoder.notices ?? [] });
        return decoder;
      },
      (err: unknown) => {
        decoders.delete(id);
        post(failed(id, err));
        return undefined;
      },
    ),
  );
}

function handle(decoder: LocalDecoder, message: Exclude<ToWorker, { type: 'open' }>): FromWorker | undefined {
  const started = performance.now();
  switch (message.type) {
    case 'close':
      decoders.delete(message.decoder);
      decoder.free();
      return undefined;
    case 'reset':
      decoder.resetStream();
      return undefined;
    case 'audio':
      return { type: 'events', decoder: message.decoder, id: message.id, events: decoder.process(message.pcm), cpuMs: performance.now() - started };
    case 'finalize':
    case 'finish':
      return { type: 'events', decoder: message.decoder, id: message.id, events: decoder.finish(), cpuMs: performance.now() - started };
  }
}

/**
 * Native memory (models, decoders) outlives a terminated thread, so the thread frees its decoders and ends by
 * itself instead of being terminated.
 */
async function stop(): Promise<void> {
  const remaining = await Promise.all(decoders.values());
  decoders.clear();
  for (const decoder of remaining) decoder?.free();
  port.close();
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'open') return open(message.decoder, message.spec);
  if (message.type === 'stop') return void stop();
  const pending = decoders.get(message.decoder);
  if (!pending) return; // closed, or failed (already reported)
  // The chain keeps this decoder's messages in order while it opens; once open, each step is synchronous.
  decoders.set(
    message.decoder,
    pending.then((decoder) => {
      if (!decoder) return undefined;
      try {
        const reply = handle(decoder, message);
        if (reply) post(reply);
        return message.type === 'close' ? undefined : decoder;
      } catch (err) {
        // One decoder's failure is its meeting's: the others on this thread go on.
        decoders.delete(message.decoder);
        post(failed(message.decoder, err));
        try {
          decoder.free();
        } catch {
          // already broken; nothing more to release
        }
        return undefined;
      }
    }),
  );
});
