import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import type { MeetingConfig } from '../../../src/config/schema.js';
import { MeetingRegistry } from '../../../src/control/registry.js';
import { BridgeMetrics } from '../../../src/metrics.js';
import { HearingRecognizer } from '../../helpers/hearing-recognizer.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { ScriptedHearing } from '../../helpers/scripted-hearing.js';

const logs = captureLogs();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Meetings that caption to stdout, each with a WebSocket source: `token` varies to make a changed meeting. */
function meetings(dir: string, entries: { id: string; token?: string }[]): MeetingConfig[] {
  const yaml = entries.map(({ id, token }) => `  - id: ${id}\n    source: { type: websocket, token: ${token ?? `${id}-token-0123456789`} }\n    captions: [ { stdout: {} } ]\n    archive: false\n`).join('');
  return parseConfig(`state: { dir: ${dir} }\nmeetings:\n${yaml}`, 'meetings.yaml', {}).meetings;
}

async function registry(): Promise<{ registry: MeetingRegistry; dir: string; recognizers: HearingRecognizer[]; ended: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-registry-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const recognizers: HearingRecognizer[] = [];
  const made = new MeetingRegistry({
    stateDir: dir,
    log: logs.log,
    metrics: new BridgeMetrics(),
    recognizerFor: () => {
      const recognizer = new HearingRecognizer(() => new ScriptedHearing([]));
      recognizers.push(recognizer);
      return recognizer;
    },
  });
  cleanups.push(() => made.close());
  const ended: string[] = [];
  made.on('end-stream', (id) => ended.push(id));
  return { registry: made, dir, recognizers, ended };
}

describe('MeetingRegistry: the meetings running in this process', () => {
  it('brings the running meetings to a new list: removed, changed (restarted), added, and untouched ones keep running', async () => {
    const { registry: meetingsHere, dir, recognizers, ended } = await registry();
    await meetingsHere.apply(meetings(dir, [{ id: 'keep' }, { id: 'change' }, { id: 'drop' }]));
    const kept = meetingsHere.get('keep');
    expect(meetingsHere.views().map((m) => [m.id, m.state])).toEqual([
      ['keep', 'ready'],
      ['change', 'ready'],
      ['drop', 'ready'],
    ]);

    const changes = await meetingsHere.apply(meetings(dir, [{ id: 'keep' }, { id: 'change', token: 'another-token-0123456789' }, { id: 'new' }]));
    expect(changes).toEqual({ removed: ['drop'], changed: ['change'], added: ['new'], unchanged: ['keep'] });
    expect(meetingsHere.list().map((m) => m.id)).toEqual(['keep', 'change', 'new']);
    // Untouched: the same meeting, still running; the removed and the changed one's streams were ended on every listener.
    expect(meetingsHere.get('keep')).toBe(kept);
    expect(ended.sort()).toEqual(['change', 'drop']);
    // Each closed meeting let its engine go, once.
    expect(recognizers.map((r) => r.closed)).toEqual([0, 1, 1, 0, 0]);
    expect(meetingsHere.websocketRoutes.get('drop')).toBeUndefined();
    expect(meetingsHere.websocketRoutes.get('change')?.token).toBe('another-token-0123456789');
  });

  it('leaves meetings made at runtime to their maker, refuses a meeting twice, and nothing after close (safe twice)', async () => {
    const { registry: meetingsHere, dir } = await registry();
    const [listed, runtime] = meetings(dir, [{ id: 'listed' }, { id: 'zoom-123456789' }]);
    await meetingsHere.add(listed!);
    await meetingsHere.add(runtime!);
    await expect(meetingsHere.add(listed!)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const changes = await meetingsHere.apply([listed!], (id) => id.startsWith('zoom-'));
    expect(changes.removed).toEqual([]);
    expect(meetingsHere.list().map((m) => m.id)).toEqual(['listed', 'zoom-123456789']);
    await meetingsHere.remove('not-here');
    await meetingsHere.close();
    await meetingsHere.close();
    await expect(meetingsHere.add(listed!)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
