/**
 * Loads a sherpa-onnx model and exits: 0 when it loads. Run as a child process, because onnxruntime aborts the
 * whole process (std::terminate) on a corrupt model file, which inside a worker thread would take the daemon down.
 */
import { SherpaOnnxDecoder, type SherpaOnnxOptions } from './decoder.js';

const options = JSON.parse(process.argv[2] ?? '{}') as SherpaOnnxOptions;
try {
  new SherpaOnnxDecoder(options).free();
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
