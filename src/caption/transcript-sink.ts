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
        await appendFile(this.path, `WEBVTT\n\n${this.header ? `NOTE ${this.header}\n\n` : ''}`);
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
    const written = this.writing.then(() => appendFile(this.path, `NOTE ${text.replace(/-->/g, '->').replace(/\n+/g, ' / ')}\n\n`));
    this.writing = written.catch(() => undefined);
    return written.catch((err: unknown) => this.log.error({ path: this.path, err: errorMessage(err) }, 'could not write transcript note'));
  }

  private render(caption: OutgoingCaption): string {
    this.cueCount += 1;
    // Words settled from interims carry when they were first heard, finals their true timing: keep cues in order.
    const start = Math.max(caption.start, this.lastCueStart);
    this.lastCueStart = start;
    const end = Math.max(caption.end, start + 0.5);
    switch (this.format) {
      case 'vtt':
        return `${timestamp(start, '.')} --> ${timestamp(end, '.')}\n${caption.text}\n\n`;
      case 'srt':
        return `${this.cueCount}\n${timestamp(start, ',')} --> ${timestamp(end, ',')}\n${caption.text}\n\n`;
      case 'txt':
        return `${caption.text.replace(/\n/g, ' ')}\n`;
    }
  }

  async close(): Promise<void> {
    await this.writing;
  }
}
