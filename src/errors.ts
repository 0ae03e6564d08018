import { redactSecrets } from './redact.js';

/**
 * Stable error codes. Operators alert on them and tests assert on them, so a code never changes meaning;
 * add new ones instead.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'CAPTION_URL_INVALID'
  | 'ZOOM_HTTP_STATUS'
  | 'ZOOM_TIMEOUT'
  | 'ZOOM_NETWORK'
  | 'ZOOM_GAVE_UP'
  | 'STATE_WRITE_FAILED'
  | 'ASR_MODEL_MISSING'
  | 'ASR_ENGINE_FAILED'
  | 'ASR_UNKNOWN_ENGINE'
  /** The engine refused the API key: a person has to fix it, retrying will not. */
  | 'ASR_AUTH_FAILED'
  /** The engine refused the request itself (options, parameters); retrying the same request will not help. */
  | 'ASR_ENGINE_REJECTED'
  /** The engine's library is not installed in this build. */
  | 'ASR_ENGINE_UNAVAILABLE'
  | 'INGEST_FFMPEG_MISSING'
  | 'ZOOM_API_AUTH'
  | 'ZOOM_API_RATE_LIMITED'
  | 'ZOOM_MEETING_NOT_STARTED'
  | 'ZOOM_MEETING_NOT_FOUND'
  | 'ZOOM_API_ERROR'
  /** The Zoom app's token lacks a scope the call needs: add it to the app. */
  | 'ZOOM_API_SCOPE_MISSING'
  /** The account (or group/user) settings forbid the caption API token. */
  | 'ZOOM_CAPTION_API_OFF'
  /** Zoom refused the call for this account: another account's meeting, or the wrong API edition. */
  | 'ZOOM_API_NO_PERMISSION'
  | 'CLOSED';

export class BridgeError extends Error {
  readonly code: ErrorCode;
  /** True when doing the same thing again later may succeed (network, server busy); false for bad input. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    // Messages may be built from URLs or server answers: scrub them once here so no caller can leak a signature.
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BridgeError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

export function isBridgeError(err: unknown, code?: ErrorCode): err is BridgeError {
  return err instanceof BridgeError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}
