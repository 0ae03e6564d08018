import type { MeetingConfig } from '../../config/schema.js';
import type { Routes } from '../../ingest/routes.js';
import type { AudioStream } from '../../audio.js';
import type { SpeechEvent } from '../../asr/types.js';
import type { MeetingState, StreamSummary, StreamTarget } from '../../ingest/target.js';

/**
 * Pushed audio in a fleet: a publisher (WebSocket, RTMP) reaches whichever process the load balancer picked, and
 * the meeting comes to it. Routes find a meeting running here as before; a meeting of the fleet running elsewhere
 * (or nowhere yet) gets a route too, whose stream waits in the publisher's own bounded buffer while this process
 * takes the meeting, then flows into it. So a mixer that reconnects after its process died loses no audio to the
 * takeover, up to the buffer's length.
 */
export function routesAcrossFleet<T>(
  here: Routes<T>,
  meetings: () => readonly MeetingConfig[],
  routeOf: (config: MeetingConfig, pipeline: StreamTarget) => T | undefined,
  take: (meetingId: string) => Promise<StreamTarget>,
): Routes<T> {
  const arriving = (config: MeetingConfig | undefined): T | undefined => config && routeOf(config, new ArrivingMeeting(config.id, take));
  return {
    get: (id) => here.get(id) ?? arriving(meetings().find((m) => m.id === id)),
    *entries() {
      yield* here.entries();
      for (const config of meetings()) {
        if (here.get(config.id) !== undefined) continue;
        const route = arriving(config);
        if (route !== undefined) yield [config.id, route];
      }
    },
  };
}

/** A meeting on its way to this process: its stream starts once the meeting runs here. */
class ArrivingMeeting implements StreamTarget {
  private taken: StreamTarget | undefined;

  constructor(
    readonly id: string,
    private readonly take: (meetingId: string) => Promise<StreamTarget>,
  ) {}

  get state(): MeetingState {
    return this.taken?.state ?? 'ready';
  }

  async runStream(audio: AudioStream, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary> {
    this.taken = await this.take(this.id);
    return this.taken.runStream(audio, publisher, onSpeech);
  }

  // Audio dropped before the meeting arrived is the publisher buffer's own count (it logs it when the stream ends).
  audioDropped(seconds: number): void {
    this.taken?.audioDropped(seconds);
  }

  sourceProblem(sentence: string | undefined): void {
    this.taken?.sourceProblem(sentence);
  }
}
