import { createHmac } from 'node:crypto';
import type { RetryPolicy } from '../util/backoff.js';

/**
 * Zoom Realtime Media Streams over raw WebSockets (no native SDK): a signaling socket and an audio socket per
 * stream, JSON frames with integer msg_type. The numbers are Zoom's (../shared/reference/zoom-rtms-protocol.txt).
 */
export const MSG = {
  signalingHandshakeReq: 1,
  signalingHandshakeResp: 2,
  dataHandshakeReq: 3,
  dataHandshakeResp: 4,
  eventSubscription: 5,
  eventUpdate: 6,
  clientReadyAck: 7,
  streamStateUpdate: 8,
  sessionStateUpdate: 9,
  keepAliveReq: 12,
  keepAliveResp: 13,
  mediaDataAudio: 14,
  mediaDataTranscript: 17,
} as const;
/** MEDIA_DATA_TYPE: the kinds a media socket's handshake asks for. */
export const MEDIA_TYPE = { audio: 1, transcript: 8 } as const;
export const EVENT = { activeSpeakerChange: 2, participantJoin: 3, participantLeave: 4, mediaConnectionInterrupted: 7 } as const;
export const STREAM_STATE_TERMINATED = 4;
/** Session state STOPPED (msg 9): Zoom's own library stops reconnecting after it. */
export const SESSION_STATE_STOPPED = 5;
/** Status 8, another signaling connection holds the stream: Zoom's library retries three times, 1.5 s doubling, then stops. */
export const DUPLICATE_SIGNAL_STATUS = 8;
export const DUPLICATE_SIGNAL_RETRIES: RetryPolicy = { initialMs: 1_500, attempts: 3 };
/** Zoom's RTMS servers: wss:// on Zoom's own domains. */
const ZOOM_RTMS_HOST = /(^|\.)(zoom\.us|zoom\.com|zoomgov\.com)$/i;
/** Zoom's names for the status codes of msgs 2, 4, 22 and 29, by code (Zoom prefixes each with STATUS_). */
const STATUS_NAMES = [
  'OK', 'INVALID_MESSAGE_TYPE', 'INVALID_RTMS_STREAM_ID', 'INVALID_SIGNATURE', 'INVALID_PAYLOAD', 'INVALID_EVENTS',
  'INVALID_EVENT_TYPE', 'INVALID_MEDIA_TYPE', 'DUPLICATE_SIGNAL_REQUEST', 'MEDIA_TYPE_AUDIO_NOT_SUPPORT',
  'MEDIA_TYPE_VIDEO_NOT_SUPPORT', 'MEDIA_TYPE_DESKSHARE_NOT_SUPPORT', 'MEDIA_TYPE_TRANSCRIPT_NOT_SUPPORT',
  'MEDIA_TYPE_CHAT_NOT_SUPPORT', 'MEDIA_TYPE_INVALID_VALUE', 'MEDIA_DATA_ALL_CONNECTION_EXIST',
  'DUPLICATE_MEDIA_DATA_CONNECTION', 'INVALID_MEDIA_PARAMS', 'INVALID_MEDIA_AUDIO_PARAMS', 'INVALID_MEDIA_AUDIO_CONTENT_TYPE',
  'INVALID_MEDIA_AUDIO_SAMPLE_RATE', 'INVALID_MEDIA_AUDIO_CHANNEL', 'INVALID_MEDIA_AUDIO_CODEC', 'INVALID_MEDIA_AUDIO_DATA_OPT',
  'INVALID_MEDIA_AUDIO_SEND_RATE', 'INVALID_MEDIA_VIDEO_PARAMS', 'INVALID_MEDIA_VIDEO_CONTENT_TYPE', 'INVALID_MEDIA_VIDEO_CODEC',
  'INVALID_MEDIA_VIDEO_RESOLUTION', 'INVALID_MEDIA_VIDEO_DATA_OPT', 'INVALID_MEDIA_VIDEO_FPS', 'INVALID_MEDIA_DESKSHARE_PARAMS',
  'INVALID_MEDIA_DESKSHARE_CONTENT_TYPE', 'INVALID_MEDIA_DESKSHARE_CODEC', 'INVALID_MEDIA_DESKSHARE_RESOLUTION',
  'INVALID_MEDIA_DESKSHARE_FPS', 'INVALID_MEDIA_TRANSCRIPT_PARAMS', 'INVALID_MEDIA_TRANSCRIPT_CONTENT_TYPE',
  'INVALID_MEDIA_CHAT_PARAMS', 'INVALID_MEDIA_CHAT_CONTENT_TYPE', 'INVALID_RTMS_SESSION_ID', 'INVALID_CLIENT_READY_ACK',
  'INVALID_EVENT_SUBSCRIBE', 'INVALID_MEDIA_TRANSCRIPT_SOURCE_LANGUAGE', 'DUPLICATE_VIDEO_SUBSCRIPTION', 'INTERNAL_EXCEPTION',
  'INVALID_MEDIA_TRANSCRIPT_TARGET_LANGUAGE', 'CHAT_SESSION_KEY_NOT_AVAILABLE',
];
/**
 * What a status means for this client: whether trying again can help, and what to say. Zoom's own library stops on
 * 1-7, 14, 17-43 and 46 (a bad request, a bad signature, a stream that is gone); audio not supported (9) or transcript
 * not supported (12) cannot change by retrying either: the app's settings decide. The rest (8, 15, 16: a connection in
 * the way; 44, 45, 47) may pass.
 */
const FATAL_STATUS = new Set([1, 2, 3, 4, 5, 6, 7, 9, 12, 14, ...Array.from({ length: 27 }, (_, i) => i + 17), 46]);
const STATUS_SENTENCES: Record<number, string> = {
  2: 'unknown stream',
  3: "the signature does not match: the handshake is signed with the client id and secret of the app that has RTMS (rtmsApp, or zoomApi without it)",
  8: 'another connection already holds this stream',
  9: "the stream carries no audio for this app: turn on audio in the Zoom app's Realtime Media Streams settings",
  12: "the stream carries no transcript for this app: turn on transcripts in the Zoom app's Realtime Media Streams settings",
  16: 'another connection of this kind already holds this stream',
};

/** A status code as a person reads it, and whether trying again can help. */
export function rtmsStatus(code: number): { said: string; fatal: boolean } {
  const name = STATUS_NAMES[code] ?? `status ${code}`;
  const sentence = STATUS_SENTENCES[code];
  return { said: sentence ? `${sentence} (${name})` : name, fatal: FATAL_STATUS.has(code) };
}
/** L16, 16 kHz, mono, the whole room mixed, 20 ms packets: the recognizer's own format, nothing to convert. */
export const AUDIO_PARAMS = { content_type: 2, sample_rate: 1, channel: 1, codec: 1, data_opt: 1, send_rate: 20 };

/**
 * RTMS_TRANSCRIPT_LANGUAGE by language subtag (zoom/rtms src/rtms.h, v1.1.0, April 2026): the language Zoom's
 * transcript hears. A region picks where Zoom has two (fr-CA, zh-TW); NONE (-1) asks Zoom to identify it.
 */
const TRANSCRIPT_LANGUAGES: Record<string, number> = {
  ar: 0, bn: 1, yue: 2, ca: 3, zh: 4, 'zh-tw': 5, 'zh-hk': 2, 'zh-hant': 5, cs: 6, da: 7, nl: 8, en: 9, et: 10, fi: 11,
  'fr-ca': 12, fr: 13, de: 14, he: 15, hi: 16, hu: 17, id: 18, it: 19, ja: 20, ko: 21, ms: 22, fa: 23, pl: 24, pt: 25,
  ro: 26, ru: 27, es: 28, sv: 29, tl: 30, fil: 30, ta: 31, te: 32, th: 33, tr: 34, uk: 35, vi: 36,
};
/** Zoom identifies the language itself (after ~30 s of speech, by Zoom's SDK's notes). */
export const TRANSCRIPT_LANGUAGE_AUTO = -1;
/** The language tags Zoom's transcript takes. */
export const TRANSCRIPT_LANGUAGE_TAGS = Object.keys(TRANSCRIPT_LANGUAGES);

/** Zoom's transcript language id for a BCP 47 tag, or undefined when Zoom's transcript has no such language. */
export function transcriptLanguageId(tag: string): number | undefined {
  const lower = tag.toLowerCase();
  const [primary, region] = lower.split('-');
  return TRANSCRIPT_LANGUAGES[`${primary}-${region}`] ?? TRANSCRIPT_LANGUAGES[primary!];
}

/** The transcript handshake's media_params: TEXT content (5), the language Zoom should hear, and whether it may identify another. */
export function transcriptParams(srcLanguage: number, enableLid: boolean): { content_type: 5; src_language: number; enable_lid: boolean } {
  return { content_type: 5, src_language: srcLanguage, enable_lid: enableLid };
}


export interface RtmsCredentials {
  clientId: string;
  clientSecret: string;
}

/** HMAC-SHA256(client secret, "client_id,meeting_uuid,rtms_stream_id"), lowercase hex: both handshakes carry it. */
export function rtmsSignature(credentials: RtmsCredentials, instanceUuid: string, streamId: string): string {
  return createHmac('sha256', credentials.clientSecret).update(`${credentials.clientId},${instanceUuid},${streamId}`).digest('hex');
}

/** The first WebSocket URL of a comma-separated list (Zoom may list other protocols too). */
export function firstWebSocketUrl(list: unknown): string | undefined {
  if (typeof list !== 'string') return undefined;
  return list
    .split(',')
    .map((url) => url.trim())
    .find((url) => /^wss?:\/\//i.test(url));
}

/**
 * Why a server URL from a webhook or a handshake answer must not be dialled, or undefined when it may. Whoever holds
 * the webhook secret (or a bad payload) must not make the bridge dial an internal host, nor hand a host of its choice
 * an HMAC of ids it chose: only wss:// on Zoom's hosts, and the hosts the config lists.
 */
export function dialRefusal(raw: string, allowedHosts: readonly string[] = [], hostsSetting = 'zoomApi.rtmsHosts'): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not a URL';
  }
  if (url.hash || url.username || url.password) return 'it carries a fragment or credentials';
  const listed = allowedHosts.includes(url.hostname);
  if (url.protocol === 'wss:' && (listed || ZOOM_RTMS_HOST.test(url.hostname))) return undefined;
  if (url.protocol === 'ws:' && listed) return undefined;
  return `${url.protocol}//${url.host} is not one of Zoom's RTMS servers (wss:// on zoom.us); ${hostsSetting} lists other hosts to allow`;
}
