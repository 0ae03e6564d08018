import { spawn } from 'node:child_process';
import { locateFfmpeg } from '../../src/ingest/ffmpeg.js';

/** Real ffmpeg publishing a speech file at its natural pace, as a mixer, OBS or Zoom's cloud would. Resolves with its exit. */
export function publishRtmp(url: string, clip: string, codec: 'aac' | 'libmp3lame' = 'aac'): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(locateFfmpeg(), ['-hide_banner', '-loglevel', 'error', '-re', '-i', clip, '-c:a', codec, '-ar', '44100', '-ac', '2', '-f', 'flv', url]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
