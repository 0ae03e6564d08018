import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The JavaScript file of a worker thread beside a module (`name` relative to `moduleUrl`). Under vitest the code runs
 * from src/*.ts, but a worker thread needs JavaScript: the built copy in dist/ then (`npm test` builds first).
 * Undefined when neither exists.
 */
export function workerFile(name: string, moduleUrl: string): URL | undefined {
  const beside = new URL(name, moduleUrl);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL(beside.href.replace('/src/', '/dist/'));
  return existsSync(fileURLToPath(built)) ? built : undefined;
}
