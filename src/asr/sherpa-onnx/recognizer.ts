import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BridgeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { SherpaOnnxOptions } from './decoder.js';

/** Models already loaded once by a probe in this process: they will not abort it. */
const provenModels = new Set<string>();

/** Under vitest the code runs from src/*.ts; the probe needs JavaScript: use the built copy then. */
function probeFile(): string {
  const beside = fileURLToPath(new URL('./probe-main.js', import.meta.url));
  return existsSync(beside) ? beside : beside.replace('/src/', '/dist/');
}

/**
 * sherpa-onnx in a worker thread per meeting, like pocketsphinx; but a model is first loaded once in a child
 * process, since onnxruntime aborts the process that loads a corrupt file.
 */
export class SherpaOnnxRecognizer extends WorkerRecognizer {
  constructor(
    private readonly sherpa: SherpaOnnxOptions,
    language: string,
    log: Logger,
  ) {
    super({ kind: 'sherpa-onnx', options: sherpa }, { streaming: true, interimResults: true, wordTimings: true, languages: [language] }, log);
  }

  override async start(): Promise<void> {
    if (!provenModels.has(this.sherpa.modelDir)) {
      await new Promise<void>((resolve, reject) => {
        execFile(process.execPath, [probeFile(), JSON.stringify(this.sherpa)], { timeout: 120_000 }, (err, _stdout, stderr) => {
          if (!err) return resolve();
          const detail = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || err.message;
          const code = err.code === 2 && /npm package|sherpa-onnx-node/.test(detail) ? 'ASR_ENGINE_UNAVAILABLE' : 'ASR_ENGINE_FAILED';
          reject(new BridgeError(code, `sherpa-onnx cannot load the model in ${this.sherpa.modelDir}: ${detail}`));
        });
      });
      provenModels.add(this.sherpa.modelDir);
    }
    return super.start();
  }
}
