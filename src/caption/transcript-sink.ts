import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { Logger } from '../log.js';
import { errorMessage } from '../errors.js';
import type { CaptionSink, OutgoingCaption, SinkResult } from './sink.js';

type TranscriptFormat = 'vtt' | 'srt' | 'txt';

function timestamp(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}

/**
 * A caption's text as one cue's payload: a blank line ends a cue in WebVTT and SRT, so text with one (a console
 * caption, any other source) could write a cue of its own after it; and WebVTT forbids "-->" in cue text. Every kind
 * of line break becomes \n, lines with nothing on them go, and any dashes before ">" become one (so no "-->" can
 * form again, whatever a single pass would leave).
 */
export function cueText(text: string): string {
  return text
    .split(/\r\n|\r|\n|\u2028|\u2029/)
    .map((line) => line.replace(/-+>/g, '->').trimEnd())
    .filter((line) => line.trim() !== '')
    .join('\n');
}

/** A speaker's name or label inside a WebVTT voice tag: its markup characters escaped, on one line. */
function voiceName(speaker: string): string {
  return cueText(speaker).replace(/\n/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A NOTE block's text: one line (a NOTE ends at a blank line), and no "-->" (a NOTE may not hold one). */
export function noteText(text: string): string {
  return cueText(text).replace(/\n/g, ' / ');
}

/**
 * The meeting's local transcript (WebVTT, SRT or plain text), appended caption by caption as they are released,
 * so after a crash it is complete up to the last caption.
 */
export class TranscriptFileSink implements CaptionSink {
  readonly kind = 'file';
  private readonly format: TranscriptFormat;
  private cueCount = 0;
  private lastCueStart = 0;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    /** Written once at the top of a new WebVTT file (a NOTE block): what the cue times count from. */
    private readonly header?: string,
  ) {
    this.format = extname(path).slice(1) as TranscriptFormat;
  }

  get description(): string {
    return `file ${this.path}`;
  }

  /** A transcript that cannot be written (full disk, read-only dir) is reported, never a reason not to caption. */
  async start(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const existing = await readFile(this.path, 'utf8').catch(() => '');
      if (this.format === 'vtt' && !existing.startsWith('WEBVTT')) {
        await appendFile(this.path, `WEBVTT\n\n${this.header ? `NOTE ${noteText(this.header)}\n\n` : ''}`);
      }
      // SRT numbers its cues: continue the numbering of an earlier run.
      this.cueCount = existing.split('\n').filter((line) => line.includes(' --> ')).length;
    } catch (err) {
      this.log.error({ path: this.path, err: errorMessage(err) }, 'transcript file unavailable: captions go on without it');
    }
  }

  deliver(caption: OutgoingCaption): Promise<SinkResult> {
    const entry = this.render(caption);
    const written = this.writing.then(() => appendFile(this.path, entry));
    this.writing = written.catch(() => undefined);
    return written.then(
      (): SinkResult => ({ status: 'written', confirmedAt: Date.now() }),
      (err: unknown): SinkResult => {
        this.log.error({ path: this.path, err: errorMessage(err) }, 'could not write transcript');
        return { status: 'write_failed' };
      },
    );
  }

  /** A remark between cues (WebVTT NOTE); SRT and plain text have no comments, so it is left out there. */
  note(text: string): Promise<void> {
    if (this.format !== 'vtt') return Promise.resolve();
    const written = this.writing.then(() => appendFile(this.path, `NOTE ${noteText(text)}\n\n`));
    this.writing = written.catch(() => undefined);
    return written.catch((err: unknown) => this.log.error({ path: this.path, err: errorMessage(err) }, 'could not write transcript note'));
  }

  private render(caption: OutgoingCaption): string {
    this.cueCount += 1;
    const text = cueText(caption.text) || '...';
    // Words settled from interims carry when they were first heard, finals their true timing: keep cues in order.
    const start = Math.max(caption.start, this.lastCueStart);
    this.lastCueStart = start;
    const end = Math.max(caption.end, start + 0.5);
    switch (this.format) {
      case 'vtt':
        // WebVTT's voice span says who speaks, for players and for anyone reading the archive back.
        return `${timestamp(start, '.')} --> ${timestamp(end, '.')}\n${caption.speaker ? `<v ${voiceName(caption.speaker)}>` : ''}${text}\n\n`;
      case 'srt':
        return `${this.cueCount}\n${timestamp(start, ',')} --> ${timestamp(end, ',')}\n${text}\n\n`;
      case 'txt':
        return `${text.replace(/\n/g, ' ')}\n`;
    }
  }

  async close(): Promise<void> {
    await this.writing;
  }
}
