import { parentPort, workerData } from 'node:worker_threads';
import { isBridgeError } from '../../errors.js';
import { PocketsphinxDecoder } from './binding.js';
import type { FromWorker, ToWorker, WorkerData } from './protocol.js';

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

let decoder: PocketsphinxDecoder;
try {
  decoder = new PocketsphinxDecoder((workerData as WorkerData).options);
  post({ type: 'ready' });
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
