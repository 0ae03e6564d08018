import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { SpeechEvent } from '../src/asr/types.js';
import { createDisplay } from '../src/display/create.js';
import { replayEvents } from '../src/display/replay.js';
import { DEFAULT_DISPLAY_OPTIONS, type DisplayMode } from '../src/display/types.js';
import { Segmenter } from '../src/segmenter/segmenter.js';
import { buildCorpus, WITH_PAUSES } from './corpus.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const SECONDS_SHOWN = 40;
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A picture of what a viewer sees: the first seconds of the corpus replayed through the engine, the segmenter and
 * each display mode, every POST drawn as Zoom's caption box draws it (the latest POST alone, until the next), with
 * when it appeared and how long it stayed. Written to bench/results/caption-box.html and .png.
 */
it('renders the caption box over time for blocks and roll-up', async () => {
  const corpus = buildCorpus(1, WITH_PAUSES);
  const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
  const events: SpeechEvent[] = [];
  const samples = corpus.samples.subarray(0, SECONDS_SHOWN * 16_000);
  for (let i = 0; i < samples.length; i += 1_600) events.push(...decoder.process(samples.slice(i, i + 1_600)));
  events.push(...decoder.finish());
  decoder.free();

  const column = (mode: DisplayMode): string => {
    const posts = replayEvents(events, new Segmenter(), createDisplay(mode, DEFAULT_DISPLAY_OPTIONS));
    const boxes = posts.map((post, i) => {
      const shownMs = i + 1 < posts.length ? posts[i + 1]!.releasedAt - post.releasedAt : undefined;
      const time = `${(post.releasedAt / 1000).toFixed(1)} s${shownMs === undefined ? '' : `, on screen ${(shownMs / 1000).toFixed(1)} s`}`;
      return `<div class="frame"><div class="time">${time}</div><div class="box">${escapeHtml(post.text).replace(/\n/g, '<br>')}</div></div>`;
    });
    return `<section><h2>${mode}: ${posts.length} POSTs in ${SECONDS_SHOWN} s</h2>${boxes.join('')}</section>`;
  };
  const html = `<!doctype html><meta charset="utf-8"><title>caption box over time</title><style>
    body { font: 14px system-ui, sans-serif; margin: 16px; background: #fff; }
    main { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
    h2 { font-size: 16px; }
    .frame { display: flex; gap: 12px; align-items: center; margin: 6px 0; }
    .time { width: 150px; color: #555; font-size: 12px; text-align: right; }
    .box { background: rgba(0,0,0,.8); color: #fff; font-size: 17px; line-height: 1.35; padding: 6px 10px; border-radius: 4px; width: 330px; min-height: 46px; }
  </style><h1>What a viewer sees in Zoom's caption box (first ${SECONDS_SHOWN} s of the bench corpus, pocketsphinx, default display settings)</h1>
  <main>${column('blocks')}${column('rollup')}</main>`;
  writeFileSync(`${RESULTS}caption-box.html`, html);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    await page.setContent(html);
    await page.screenshot({ path: `${RESULTS}caption-box.png`, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`written: ${RESULTS}caption-box.html and caption-box.png`);
});
