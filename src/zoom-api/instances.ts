import type { Logger } from '../log.js';
import type { ZoomApiClient } from './client.js';

/** Instances remembered; a bridge sees a few meetings a day, so this never grows large. */
const MAX_REMEMBERED = 1_000;

/**
 * Which meeting (or webinar) id an instance UUID belongs to. RTMS webhooks name only the instance; meeting.started
 * names both (learned here), and for an instance the bridge has not seen start, the Zoom API says.
 */
export class MeetingInstances {
  private readonly ids = new Map<string, string>();

  constructor(
    private readonly api: ZoomApiClient | undefined,
    private readonly log: Logger,
  ) {}

  learn(uuid: string, id: string): void {
    if (this.ids.size >= MAX_REMEMBERED) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(uuid, id);
  }

  async idOf(uuid: string, kind: 'meeting' | 'webinar'): Promise<string | undefined> {
    const known = this.ids.get(uuid);
    if (known !== undefined || !this.api) return known;
    const id = await this.api.idOfInstance(uuid, kind);
    this.log.debug({ uuid, id }, 'Zoom instance looked up');
    this.learn(uuid, id);
    return id;
  }
}
