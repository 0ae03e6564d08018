import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

/** One cue as written: a correction writes the same cue again with other text. */
interface Cue {
  number: number;
  start: number;
  end: number;
  speaker?: string;
  text: string;
}

/** How many of the newest cues a captioner's correction can still rewrite (the caption page keeps fewer). */
const REWRITABLE_CUES = 1_000;

/**
 * The meeting's local transcript (WebVTT, SRT or plain text), appended caption by caption as they are released,
 * so after a crash it is complete up to the last caption. A captioner's correction of a caption already written
 * rewrites its cue (the file is replaced whole, so a crash leaves the old or the new one, never half of each).
 */
export class TranscriptFileSink implements CaptionSink {
  readonly kind = 'file';
  private readonly format: TranscriptFormat;
  private cueCount = 0;
  private lastCueStart = 0;
  private writing: Promise<unknown> = Promise.resolve();
  /** The file's length in bytes as this sink wrote it, and where each recent cue begins. */
  private bytes = 0;
  private readonly cues = new Map<OutgoingCaption, { cue: Cue; offset: number }>();

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
      this.bytes = Buffer.byteLength(existing);
      if (this.format === 'vtt' && !existing.startsWith('WEBVTT')) await this.append(`WEBVTT\n\n${this.header ? `NOTE ${noteText(this.header)}\n\n` : ''}`);
      // SRT numbers its cues: continue the numbering of an earlier run.
      this.cueCount = existing.split('\n').filter((line) => line.includes(' --> ')).length;
    } catch (err) {
      this.log.error({ path: this.path, err: errorMessage(err) }, 'transcript file unavailable: captions go on without it');
    }
  }

  deliver(caption: OutgoingCaption): Promise<SinkResult> {
    const cue = this.nextCue(caption);
    const written = this.writing.then(async () => {
      const offset = this.bytes;
      await this.append(this.entry(cue));
      this.cues.set(caption, { cue, offset });
      if (this.cues.size > REWRITABLE_CUES) this.cues.delete(this.cues.keys().next().value!);
    });
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
    const written = this.writing.then(() => this.append(`NOTE ${noteText(text)}\n\n`));
    this.writing = written.catch(() => undefined);
    return written.catch((err: unknown) => this.log.error({ path: this.path, err: errorMessage(err) }, 'could not write transcript note'));
  }

  /**
   * A captioner's correction: the caption's cue, same number and times, with the corrected text. Found where this
   * sink wrote it; if the file changed under it, a WebVTT or SRT cue is found by its whole text (its times make it
   * unique), a plain-text line is not guessed at.
   */
  rewrite(caption: OutgoingCaption, text: string): Promise<boolean> {
    const known = this.cues.get(caption);
    if (!known) return Promise.resolve(false);
    const done = this.writing.then(async () => {
      const content = await readFile(this.path);
      const before = Buffer.from(this.entry(known.cue));
      const inPlace = content.subarray(known.offset, known.offset + before.length).equals(before);
      const at = inPlace ? known.offset : this.format === 'txt' ? -1 : content.lastIndexOf(before);
      if (at < 0) return false;
      const cue = { ...known.cue, text: cueText(text) || '...' };
      const after = Buffer.from(this.entry(cue));
      const temporary = `${this.path}.rewrite-${process.pid}`;
      try {
        await writeFile(temporary, Buffer.concat([content.subarray(0, at), after, content.subarray(at + before.length)]));
        await rename(temporary, this.path);
      } catch (err) {
        // A full disk leaves no half-written copy beside the transcript.
        await rm(temporary, { force: true });
        throw err;
      }
      const moved = after.length - before.length;
      for (const other of this.cues.values()) if (other.offset > at) other.offset += moved;
      this.bytes += moved;
      known.cue = cue;
      known.offset = at;
      return true;
    });
    this.writing = done.catch(() => undefined);
    return done.catch((err: unknown) => {
      this.log.error({ path: this.path, err: errorMessage(err) }, 'could not rewrite a corrected caption in the transcript');
      return false;
    });
  }

  private async append(text: string): Promise<void> {
    await appendFile(this.path, text);
    this.bytes += Buffer.byteLength(text);
  }

  private nextCue(caption: OutgoingCaption): Cue {
    this.cueCount += 1;
    // Words settled from interims carry when they were first heard, finals their true timing: keep cues in order.
    const start = Math.max(caption.start, this.lastCueStart);
    this.lastCueStart = start;
    return { number: this.cueCount, start, end: Math.max(caption.end, start + 0.5), text: cueText(caption.text) || '...', ...(caption.speaker ? { speaker: caption.speaker } : {}) };
  }

  private entry({ number, start, end, speaker, text }: Cue): string {
    switch (this.format) {
      case 'vtt':
        // WebVTT's voice span says who speaks, for players and for anyone reading the archive back.
        return `${timestamp(start, '.')} --> ${timestamp(end, '.')}\n${speaker ? `<v ${voiceName(speaker)}>` : ''}${text}\n\n`;
      case 'srt':
        return `${number}\n${timestamp(start, ',')} --> ${timestamp(end, ',')}\n${text}\n\n`;
      case 'txt':
        return `${text.replace(/\n/g, ' ')}\n`;
    }
  }

  async close(): Promise<void> {
    await this.writing;
  }
}
