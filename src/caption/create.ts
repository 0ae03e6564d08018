import { join } from 'node:path';
import type { DisplayMode } from '../display/types.js';
import type { Logger } from '../log.js';
import type { ZoomApiClient } from '../zoom-api/client.js';
import type { ArchiveRetention } from './archive.js';
import type { CaptionDestinationConfig } from './options.js';
import type { CaptionSink } from './sink.js';
import { CaptionFeed, type FeedHistory } from './caption-feed.js';
import { FileFeedHistory } from './feed-history.js';
import { StdoutSink } from './stdout-sink.js';
import { TranscriptFileSink } from './transcript-sink.js';
import { ZoomSink } from './zoom-sink.js';
import { targetOf } from '../zoom-api/target.js';

export interface PlannedDestination {
  sink: CaptionSink;
  /** How its POSTs are laid out; transcripts always take blocks (each word once). */
  mode: DisplayMode;
}

export interface MeetingDestinations {
  destinations: PlannedDestination[];
  /** The meeting's WebVTT archive, which also records captions that never reached Zoom. */
  archive?: TranscriptFileSink;
}

export interface DestinationOptions {
  meetingId: string;
  captions: CaptionDestinationConfig[];
  archive: ArchiveRetention | false;
  /** The language Zoom is told when a destination names none: the recognizer's. */
  language: string;
  /** Wall-clock ms the meeting began: archive cue times count from here. */
  epoch: number;
  /** Lines of the caption box (display.maxLines): a late caption joined to the next must still fit. */
  maxLines: number;
}

export interface DestinationDeps {
  stateDir: string;
  log: Logger;
  /** Present when the config has a zoomApi section (the schema requires it for meetingId/webinarId). */
  zoomApi?: ZoomApiClient;
  /** Where a caption page's history lives (etcd, in a fleet); the state dir by default. */
  feedHistory?: (meetingId: string) => FeedHistory;
}

/** The folder of a meeting's archive: trimmed at start, one WebVTT + SRT pair per run. */
export function archiveDir(stateDir: string, meetingId: string): string {
  return join(stateDir, 'transcripts', meetingId);
}

/** A meeting's caption destinations, in config order, then its archive (so metrics' indexes match the config). */
export function createDestinations(options: DestinationOptions, { stateDir, log, zoomApi, feedHistory }: DestinationDeps): MeetingDestinations {
  const destinations: PlannedDestination[] = [];
  for (const destination of options.captions) {
    if (destination.zoom) {
      const zoom = destination.zoom;
      if (zoom.url === '') {
        log.warn('zoom caption URL is empty (optional): captions go to the other destinations only');
        continue;
      }
      // The schema gives exactly one of url, meetingId, webinarId; an id needs the zoomApi section.
      const source = zoom.url !== undefined ? { url: zoom.url } : { target: targetOf(zoom)!, api: zoomApi! };
      const sink = new ZoomSink(
        { source, lang: zoom.lang ?? options.language, stateDir: join(stateDir, 'seq'), requestTimeoutMs: zoom.requestTimeoutMs, giveUpAfterMs: zoom.giveUpAfterMs, maxLines: options.maxLines },
        log,
      );
      destinations.push({ sink, mode: zoom.display });
    } else if (destination.teams || destination.youtube) {
      const [service, posted] = destination.teams ? (['Teams', destination.teams] as const) : (['YouTube', destination.youtube!] as const);
      if (posted.url === '') {
        log.warn(`${service} caption URL is empty (optional): captions go to the other destinations only`);
        continue;
      }
      const sink = new ZoomSink(
        { source: { url: posted.url }, service, lang: posted.lang ?? options.language, stateDir: join(stateDir, 'seq'), requestTimeoutMs: posted.requestTimeoutMs, giveUpAfterMs: posted.giveUpAfterMs, maxLines: options.maxLines },
        log,
      );
      destinations.push({ sink, mode: posted.display });
    } else if (destination.file) {
      destinations.push({ sink: new TranscriptFileSink(destination.file.path, log), mode: 'blocks' });
    } else if (destination.stdout) {
      destinations.push({ sink: new StdoutSink(options.meetingId), mode: 'blocks' });
    } else if (destination.page) {
      const { token, maxReaders, maxReadersPerAddress, keep } = destination.page;
      const history = feedHistory?.(options.meetingId) ?? new FileFeedHistory(stateDir, options.meetingId, log);
      destinations.push({ sink: new CaptionFeed({ meetingId: options.meetingId, token, maxReaders, maxReadersPerAddress, keep, history }), mode: 'blocks' });
    }
  }
  if (!options.archive) return { destinations };
  const started = new Date(options.epoch).toISOString();
  const base = join(archiveDir(stateDir, options.meetingId), started.replace(/[:.]/g, '-'));
  const archive = new TranscriptFileSink(`${base}.vtt`, log, `meeting ${options.meetingId}; cue times count from ${started}`);
  destinations.push({ sink: archive, mode: 'blocks' }, { sink: new TranscriptFileSink(`${base}.srt`, log), mode: 'blocks' });
  return { destinations, archive };
}
