import { redactSecrets } from './redact.js';

interface ErrorDefinition {
  /** True when doing the same thing again later may succeed (network, server busy); false when a person must act. */
  retryable: boolean;
  /** A speech engine's failure: a fallback engine may take over the stream. */
  engine?: true;
}

/**
 * Stable error codes, each defined once: operators alert on them and tests assert on them, so a code never
 * changes meaning (add a new one instead), and whether it is worth retrying is a property of the code.
 */
const ERRORS = {
  CONFIG_INVALID: { retryable: false },
  CONFIG_UNREADABLE: { retryable: false },
  CAPTION_URL_INVALID: { retryable: false },
  /** Zoom answered a caption POST with an error status; the sender retries within its budget. */
  ZOOM_HTTP_STATUS: { retryable: true },
  ZOOM_TIMEOUT: { retryable: true },
  ZOOM_NETWORK: { retryable: true },
  /** A caption's retry budget ran out; Zoom's GET seq then decides what happened to it (it is tried again if Zoom lacks it). */
  ZOOM_RETRIES_SPENT: { retryable: true },
  /** A caption waited too long for Zoom (an outage): skipped so the newest text goes first when Zoom is back. */
  ZOOM_CAPTION_SKIPPED: { retryable: false },
  /** A caption was still unsent when its destination closed (shutdown, or the meeting removed). */
  ZOOM_CAPTION_UNSENT: { retryable: false },
  STATE_WRITE_FAILED: { retryable: true },
  ASR_MODEL_MISSING: { retryable: false, engine: true },
  ASR_ENGINE_FAILED: { retryable: true, engine: true },
  ASR_UNKNOWN_ENGINE: { retryable: false, engine: true },
  /** The engine refused the API key: a person has to fix it, retrying will not. */
  ASR_AUTH_FAILED: { retryable: false, engine: true },
  /** The engine refused the request itself (options, parameters); retrying the same request will not help. */
  ASR_ENGINE_REJECTED: { retryable: false, engine: true },
  /** The engine's library is not installed in this build. */
  ASR_ENGINE_UNAVAILABLE: { retryable: false, engine: true },
  INGEST_FFMPEG_MISSING: { retryable: false },
  /** This process holds no fleet lease now (etcd unreachable, or leaving): it may not act as a meeting's owner. */
  FLEET_NOT_MEMBER: { retryable: true },
  /** A publisher reached this process but its meeting could not be brought here in time (its owner did not let go). */
  FLEET_TAKE_FAILED: { retryable: true },
  /** A newer publisher of the same meeting took over (here, or on another process of the fleet). */
  STREAM_REPLACED: { retryable: false },
  /** Zoom does not accept the app's credentials (or the app is deactivated or deleted). */
  ZOOM_API_AUTH: { retryable: false },
  /** Zoom's OAuth or API service is down or busy, or answered nonsense: the bridge tries again. */
  ZOOM_API_UNAVAILABLE: { retryable: true },
  ZOOM_API_RATE_LIMITED: { retryable: true },
  ZOOM_MEETING_NOT_STARTED: { retryable: true },
  ZOOM_MEETING_NOT_FOUND: { retryable: false },
  /** Zoom refused an API call for a reason no other code names (a 4xx). */
  ZOOM_API_ERROR: { retryable: false },
  /** The Zoom app's token lacks a scope the call needs: add it to the app. */
  ZOOM_API_SCOPE_MISSING: { retryable: false },
  /** The account (or group/user) settings forbid the caption API token. */
  ZOOM_CAPTION_API_OFF: { retryable: false },
  /** Zoom refused the call for this account: another account's meeting, or the wrong API edition. */
  ZOOM_API_NO_PERMISSION: { retryable: false },
  /** The object was closed while the call was under way. */
  CLOSED: { retryable: false },
  /** A captioner's action the desk cannot take: the pen is another's, the caption has gone out, an edit left no words. */
  DESK_REFUSED: { retryable: false },
} satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

export class BridgeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    // Messages may be built from URLs or server answers: scrub them once here so no caller can leak a signature.
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BridgeError';
    this.code = code;
    this.retryable = ERRORS[code].retryable;
  }

  /** A speech engine failed (not a bug elsewhere): a fallback engine may take over. */
  get engineFailure(): boolean {
    return (ERRORS[this.code] as ErrorDefinition).engine === true;
  }
}

export function isBridgeError(err: unknown, code?: ErrorCode): err is BridgeError {
  return err instanceof BridgeError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}
