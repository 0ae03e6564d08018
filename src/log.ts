import { pino, type Logger, stdSerializers } from 'pino';
import { LOG_REDACT_PATHS, REDACTED, redactSecrets } from './redact.js';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Logs go to stderr as JSON lines. stdout is kept for the caption text itself (the stdout caption sink and
 * `post`), so a newcomer sees captions plainly and a log shipper never confuses the two.
 */
export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream | number = 2): Logger {
  return pino(
    {
      level,
      base: { service: 'caption-bridge' },
      redact: { paths: LOG_REDACT_PATHS, censor: REDACTED },
      serializers: {
        err: (err: unknown) => {
          if (!(err instanceof Error)) return redactSecrets(String(err));
          const serialized = stdSerializers.err(err);
          serialized.message = redactSecrets(serialized.message);
          if (serialized.stack) serialized.stack = redactSecrets(serialized.stack);
          return serialized;
        },
      },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
