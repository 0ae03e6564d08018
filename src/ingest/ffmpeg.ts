import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { redactSecrets } from '../redact.js';
import { PcmConverter } from './pcm-converter.js';
import { PCM_SAMPLE_RATE } from '../audio.js';

/**
 * Measured here: with these flags Debian's ffmpeg adds < 20 ms once audio flows; with default probing it first
 * buffers ~5 s of input to guess the format.
 */
const LOW_LATENCY_INPUT = ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0'];
const PCM_OUTPUT = ['-vn', '-sn', '-dn', '-ac', '1', '-ar', String(PCM_SAMPLE_RATE), '-f', 's16le', 'pipe:1'];

let located: string | undefined;

/**
 * The ffmpeg to run: $FFMPEG_PATH, else the system's (Debian's package), else the static build that the optional
 * npm package @ffmpeg-installer/ffmpeg ships, so a plain `npm install` works without apt.
 */
export function locateFfmpeg(): string {
  if (located) return located;
  const candidates = [process.env.FFMPEG_PATH, 'ffmpeg'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    if (spawnSync(candidate, ['-version'], { stdio: 'ignore' }).status === 0) return (located = candidate);
  }
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    if (spawnSync(installer.path, ['-version'], { stdio: 'ignore' }).status === 0) return (located = installer.path);
  } catch {
    // not installed: fall through to the error
  }
  throw new BridgeError('INGEST_FFMPEG_MISSING', 'RTMP ingest needs ffmpeg: install Debian package ffmpeg, or npm install @ffmpeg-installer/ffmpeg, or set FFMPEG_PATH');
}

/**
 * ffmpeg takes an input URL only from its argv, which every local user can read (ps, /proc/PID/cmdline). A URL
 * carrying a stream key or password goes in a one-entry concat list in a private file instead; the inner input
 * gets the same low-latency probing as a direct one (measured here: first audio after ~0.55 s either way).
 * `dispose` removes the file; ffmpeg has read it by the time any audio comes out, so call it then and on exit.
 */
export function privateInput(url: string, inputOptions: Record<string, string> = {}): { input: string[]; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'caption-bridge-input-'));
  const list = join(dir, 'input.ffconcat');
  const quoted = `'${url.replaceAll("'", "'\\''")}'`;
  const options = { fflags: 'nobuffer', probesize: '32', analyzeduration: '0', ...inputOptions };
  const lines = ['ffconcat version 1.0', `file ${quoted}`, ...Object.entries(options).map(([name, value]) => `option ${name} ${value}`)];
  writeFileSync(list, `${lines.join('\n')}\n`, { mode: 0o600 });
  return {
    input: ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file,rtmp,rtmps,tcp,tls', '-i', list],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** How long ffmpeg gets to exit after SIGTERM before it is killed. */
const FFMPEG_STOP_GRACE_MS = 2_000;

export interface FfmpegAudioOptions {
  /** Arguments that say where the input comes from, e.g. ['-f', 'flv', '-i', 'pipe:0'] or ['-i', 'rtmp://...']. */
  input: string[];
  onSamples: (samples: Int16Array) => void;
  log: Logger;
  /** Strings ffmpeg may quote in its messages that must not reach the log (a stream key in the input URL). */
  secrets?: string[];
}

/**
 * One ffmpeg process turning whatever it is given into 16 kHz mono s16le on stdout. Its stderr goes to the log
 * line by line (ffmpeg only prints warnings and errors at this log level); `exited` resolves with its exit code.
 */
export class FfmpegAudio {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly converter = new PcmConverter(PCM_SAMPLE_RATE, 1);
  private stopping = false;

  constructor(options: FfmpegAudioOptions) {
    // -nostdin stops ffmpeg reading keystrokes from stdin, unless stdin is the input.
    const stdin = options.input.includes('pipe:0') ? [] : ['-nostdin'];
    const args = ['-hide_banner', ...stdin, '-loglevel', 'warning', ...LOW_LATENCY_INPUT, ...options.input, ...PCM_OUTPUT];
    this.child = spawn(locateFfmpeg(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (bytes: Buffer) => {
      const samples = this.converter.convert(bytes);
      if (samples.length > 0) options.onSamples(samples);
    });
    // A publisher that vanishes mid-write must not crash the process with EPIPE.
    this.child.stdin.on('error', () => undefined);
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      const scrubbed = (options.secrets ?? []).reduce((text, secret) => text.replaceAll(secret, 'REDACTED'), redactSecrets(line));
      if (!this.stopping) options.log.warn({ ffmpeg: scrubbed.slice(0, 300) }, 'ffmpeg');
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        options.log.error({ err: err.message }, 'ffmpeg could not be started');
        resolve(null);
      });
      // 'close', not 'exit': stdout is drained by then, so no samples arrive after it.
      this.child.on('close', (code) => resolve(code));
    });
  }

  /** Input bytes, when the input is pipe:0. */
  /**
   * Resolves at once while ffmpeg keeps up; when its input pipe is full, once it has drained. The caller pauses its
   * own source meanwhile, so a sender faster than ffmpeg is slowed down instead of filling memory.
   */
  write(bytes: Buffer): Promise<void> | undefined {
    const stdin = this.child.stdin;
    if (!stdin.writable || stdin.write(bytes)) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
    });
  }

  /** No more input: ffmpeg decodes what it has and exits. */
  endInput(): void {
    this.child.stdin.end();
  }

  /** Stop now (a pull being closed): SIGTERM, and SIGKILL if ffmpeg still runs after a grace period. Safe twice. */
  stop(graceMs = FFMPEG_STOP_GRACE_MS): Promise<number | null> {
    this.stopping = true;
    this.child.stdin.end();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      // ffmpeg blocked in a network read can ignore SIGTERM; shutdown must not wait on it.
      const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      kill.unref();
      void this.exited.finally(() => clearTimeout(kill));
    }
    return this.exited;
  }
}
