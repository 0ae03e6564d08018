import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { ConfigError, loadConfig } from './load.js';

/** Reads and checks a config on a thread of its own (see loadConfigOffThread). */
const { file, env } = workerData as { file: string; env: NodeJS.ProcessEnv };
try {
  parentPort!.postMessage({ config: loadConfig(file, env) });
} catch (err) {
  parentPort!.postMessage(err instanceof ConfigError ? { problems: err.problems } : { message: errorMessage(err) });
}
