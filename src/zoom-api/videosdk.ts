import { SignJWT } from 'jose';
import { request } from 'undici';
import { BridgeError } from '../errors.js';

export interface VideoSdkCredentials {
  /** The Video SDK app's SDK key and secret (Zoom App Marketplace, Build Video SDK). */
  key: string;
  secret: string;
  /** https://api.zoom.us/v2 */
  apiBase: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Zoom's Video SDK API tokens live at most two days; the bridge signs a fresh one for each call. */
const TOKEN_LIFETIME_SECONDS = 30 * 60;

/**
 * The Video SDK API's authorisation: a JWT signed (HS256) with the SDK secret, issued by the SDK key. Its iat is set
 * a little in the past so a server clock slightly behind ours does not see a token from the future.
 */
export async function videoSdkApiToken(credentials: Pick<VideoSdkCredentials, 'key' | 'secret'>, now = Date.now()): Promise<string> {
  const issuedAt = Math.floor(now / 1000) - 30;
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(credentials.key)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + TOKEN_LIFETIME_SECONDS)
    .sign(new TextEncoder().encode(credentials.secret));
}

/**
 * The part of Zoom's Video SDK API the bridge uses: starting and stopping the RTMS app in a session (PATCH
 * /videosdk/sessions/{sessionId}/rtms_app/status), so a session is captioned without anyone pressing a button.
 * Every refusal is a BridgeError whose sentence says what to change.
 */
export class VideoSdkApi {
  constructor(private readonly credentials: VideoSdkCredentials) {}

  /** Zoom then streams the session to the app (session.rtms_started), or stops. */
  async setRtmsApp(sessionId: string, action: 'start' | 'stop'): Promise<void> {
    const url = `${this.credentials.apiBase.replace(/\/$/, '')}/videosdk/sessions/${encodeURIComponent(sessionId)}/rtms_app/status`;
    let response;
    try {
      response = await request(url, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${await videoSdkApiToken(this.credentials)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new BridgeError('ZOOM_API_UNAVAILABLE', `the Video SDK API could not be reached to ${action} the RTMS app in session ${sessionId}: ${(err as Error).message}`, { cause: err });
    }
    const text = await response.body.text();
    if (response.statusCode === 204 || response.statusCode === 200) return;
    let answer: { code?: unknown; message?: unknown } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      // Not JSON (a proxy's page): its first words are the message.
    }
    throw explainVideoSdkError(response.statusCode, typeof answer.message === 'string' ? answer.message : text.slice(0, 200), answer.code, { sessionId, action });
  }
}

/** Zoom's answer, as a sentence about what to do. Zoom's error codes for this call are not published: the status and message decide. */
export function explainVideoSdkError(status: number, message: string, code: unknown, call: { sessionId: string; action: string }): BridgeError {
  const said = `Zoom: ${status}${code === undefined ? '' : ` code ${String(code)}`}, "${message}"`;
  if (status === 401) return new BridgeError('ZOOM_API_AUTH', `Zoom refused the Video SDK API token: check videoSdk.key and videoSdk.secret (the SDK key and secret of the Video SDK app) (${said})`);
  if (status === 404) return new BridgeError('ZOOM_MEETING_NOT_STARTED', `session ${call.sessionId} is not in progress, so its RTMS app cannot ${call.action} (${said})`);
  if (status === 429) return new BridgeError('ZOOM_API_RATE_LIMITED', `the Video SDK API asks to slow down (${said})`);
  if (status >= 500) return new BridgeError('ZOOM_API_UNAVAILABLE', `the Video SDK API failed (${said})`);
  if (/rtms/i.test(message) && /(enable|disable|not (turned )?on|not allowed|permission)/i.test(message)) {
    return new BridgeError('ZOOM_API_NO_PERMISSION', `Realtime Media Streams is not enabled for this Video SDK account: ask Zoom to turn RTMS on for it (${said})`);
  }
  if (/app/i.test(message) && /not (been )?started|not running|already stopped/i.test(message)) {
    return new BridgeError('ZOOM_API_ERROR', `the RTMS app is not running in session ${call.sessionId}, so it cannot ${call.action} (${said})`);
  }
  return new BridgeError('ZOOM_API_ERROR', `Zoom refused to ${call.action} the RTMS app in session ${call.sessionId} (${said})`);
}
