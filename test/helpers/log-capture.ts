import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real pino logger (with the production redaction) writing into memory, so tests can search the output. */
export function captureLogs(level: 'debug' | 'info' = 'debug'): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger(level, sink), text: () => chunks.join('') };
}
