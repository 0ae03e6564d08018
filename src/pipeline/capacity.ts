import type { MeetingView } from './types.js';

/**
 * How far behind the audio a meeting's engine may be. Past WARN it is said once (and cleared under CLEAR); past
 * OVERLOADED the machine takes no new meeting; past MAX_BACKLOG_SECONDS (audio.ts) the oldest audio is dropped.
 */
export const BEHIND = { WARN_SECONDS: 3, CLEAR_SECONDS: 1, OVERLOADED_SECONDS: 5 } as const;
/** A meeting whose stream ended this recently is still under way (its publisher reconnecting). */
const RECONNECT_GRACE_MS = 120_000;

export interface CapacityReport {
  /** Meetings whose engine is more than half a second behind, with how far. */
  behindSeconds: Record<string, number>;
  overloaded: boolean;
}

export function capacityOf(meetings: readonly MeetingView[]): CapacityReport {
  const behindSeconds = Object.fromEntries(meetings.map((m) => [m.id, m.snapshot().behindSeconds] as const).filter(([, s]) => s > 0.5));
  return { behindSeconds, overloaded: Object.values(behindSeconds).some((s) => s > BEHIND.OVERLOADED_SECONDS) };
}

/**
 * Why a new stream for meeting `id` is refused now, or undefined: the one admission decision for every listener
 * (WebSocket, RTMP). A meeting takes streams once its engine and destinations are ready. When the machine cannot
 * keep up, meetings already under way keep their streams (a publisher reconnecting included), and no new meeting
 * starts here until the engines catch up, since each one more makes every meeting's captions later. /readyz says
 * the same, so a load balancer sends new meetings elsewhere.
 */
export function streamRefusal(meetings: readonly MeetingView[], id: string, now = Date.now()): string | undefined {
  const meeting = meetings.find((m) => m.id === id)?.snapshot();
  if (!meeting || meeting.state === 'failed' || meeting.state === 'starting' || meeting.state === 'closed') return 'meeting not ready';
  const { behindSeconds, overloaded } = capacityOf(meetings);
  if (!overloaded) return undefined;
  if (meeting.state === 'streaming' || (meeting.lastStreamEndedAt ?? 0) > now - RECONNECT_GRACE_MS) return undefined;
  const worst = Math.max(...Object.values(behindSeconds));
  return `overloaded: the speech engine is ${worst.toFixed(0)} s behind its meetings here; no new meeting starts until it catches up (start this one on another instance)`;
}
