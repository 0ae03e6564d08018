import { parentPort, workerData } from 'node:worker_threads';
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

let decoder: LocalDecoder;
try {
  decoder = await createDecoder(workerData as LocalEngineSpec);
  post({ type: 'ready', notices: decoder.notices ?? [] });
} catch (err) {
  post({
    type: 'failed',
    code: isBridgeError(err) ? err.code : 'ASR_ENGINE_FAILED',
    message: err instanceof Error ? err.message : String(err),
  });
  process.exit(1);
}

port.on('message', (message: ToWorker) => {
  const started = performance.now();
  switch (message.type) {
    case 'reset':
      decoder.resetStream();
      return;
    case 'audio':
      post({ type: 'events', id: message.id, events: decoder.process(message.pcm), cpuMs: performance.now() - started });
      return;
    case 'finalize':
    case 'finish':
      post({ type: 'events', id: message.id, events: decoder.finish(), cpuMs: performance.now() - started });
      return;
  }
});
