import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import type { OutgoingCaption } from '../src/caption/sink.js';
import { TranscriptFileSink } from '../src/caption/transcript-sink.js';
import { silentLogger } from '../src/log.js';
import { CaptionDesk } from '../src/pipeline/desk.js';
import { report } from './report.js';

/**
 * What the captioner's desk costs the process: CPU per caption held and per correction, and memory per caption held,
 * for a meeting whose captions all wait a hold (a busy captioner's worst case: every caption on the desk at once).
 * The latency it adds is the hold itself, by construction (each caption goes out when its hold ends).
 */
const CAPTIONS = Number(process.env.BENCH_CAPTIONS ?? 20_000);
const HOLD_MS = 3_000;

const caption = (i: number): OutgoingCaption => {
  const text = `Caption number ${i} with a few words, as a block holds`;
  return { text, words: text.split(' '), start: i, end: i + 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] };
};

it("the captioner's desk: CPU and memory per caption held and per correction", async () => {
  const desk = new CaptionDesk();
  desk.setHold(HOLD_MS);
  desk.takePen('bench');
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let cpu = process.cpuUsage();
  const released: Promise<OutgoingCaption[]>[] = [];
  for (let i = 0; i < CAPTIONS; i++) released.push(desk.hold(caption(i)));
  const holdCpu = process.cpuUsage(cpu);
  global.gc?.();
  const heapHeld = process.memoryUsage().heapUsed;
  const held = desk.view().held;
  cpu = process.cpuUsage();
  // Every other caption put right (one word), as a captioner fixing names would.
  for (let i = 0; i < held.length; i += 2) desk.edit(held[i]!.id, held[i]!.text.replace('number', 'No.'), 'bench');
  const editCpu = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  for (let i = 0; i < 100; i++) desk.view();
  const viewCpu = process.cpuUsage(cpu);
  desk.flush();
  const out = await Promise.all(released);
  const corrected = out.flat().filter((c) => c.text.includes('No.')).length;
  const micros = (usage: NodeJS.CpuUsage): number => usage.user + usage.system;
  report('desk', [
    {
      'captions held at once': CAPTIONS,
      'CPU per caption held (µs)': Number((micros(holdCpu) / CAPTIONS).toFixed(2)),
      'CPU per correction (µs)': Number((micros(editCpu) / Math.ceil(CAPTIONS / 2)).toFixed(2)),
      'CPU per console view of all held (ms)': Number((micros(viewCpu) / 100 / 1000).toFixed(2)),
      'memory per caption held (bytes)': Math.round((heapHeld - heapBefore) / CAPTIONS),
      'corrections that went out': `${corrected} / ${Math.ceil(CAPTIONS / 2)}`,
      'latency added (ms)': HOLD_MS,
    },
  ], { holdMs: HOLD_MS, gcExposed: typeof global.gc === 'function' });
}, 120_000);

/**
 * A correction of a caption already sent rewrites its cue in the archive's WebVTT and SRT (each file replaced whole):
 * the cost grows with the archive, so it is measured for a short meeting, a long one, and a day's worth of cues.
 */
it('a correction of a sent caption: the archive rewritten, CPU and time per correction by archive size', async () => {
  const rows = [];
  for (const cues of [1_000, 5_000, 20_000]) {
    const dir = await mkdtemp(join(tmpdir(), 'cb-bench-rewrite-'));
    try {
      const sinks = ['vtt', 'srt'].map((format) => new TranscriptFileSink(join(dir, `archive.${format}`), silentLogger));
      for (const sink of sinks) await sink.start();
      const sent: OutgoingCaption[] = [];
      for (let i = 0; i < cues; i++) {
        const c = caption(i);
        sent.push(c);
        await Promise.all(sinks.map((sink) => sink.deliver(c)));
      }
      const corrections = 50;
      const cpu = process.cpuUsage();
      const started = performance.now();
      // The newest captions, as a captioner corrects what is still on the caption page.
      for (let i = 0; i < corrections; i++) await Promise.all(sinks.map((sink) => sink.rewrite(sent[cues - 1 - (i % 10)]!, `Caption corrected ${i}, with a few words, as a block holds`)));
      const ms = (performance.now() - started) / corrections;
      const used = process.cpuUsage(cpu);
      const bytes = (await stat(join(dir, 'archive.vtt'))).size + (await stat(join(dir, 'archive.srt'))).size;
      rows.push({
        'cues in the archive': cues,
        'archive size (KiB, VTT + SRT)': Math.round(bytes / 1024),
        'time per correction (ms)': Number(ms.toFixed(2)),
        'CPU per correction (ms)': Number(((used.user + used.system) / corrections / 1000).toFixed(2)),
      });
      for (const sink of sinks) await sink.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  report('desk-rewrite', rows, { corrections: 50, files: 'archive.vtt + archive.srt' });
}, 300_000);
