import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.js';
import type { MeetingConfig } from '../../../../src/config/schema.js';
import { NO_PROCESS_LOAD } from '../../../../src/control/capacity.js';
import { Fleet } from '../../../../src/control/fleet/fleet.js';
import { MeetingRegistry } from '../../../../src/control/registry.js';
import { BridgeMetrics } from '../../../../src/metrics.js';
import { HearingRecognizer } from '../../../helpers/hearing-recognizer.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import { MemoryEtcd } from '../../../helpers/memory-etcd.js';
import { ScriptedHearing } from '../../../helpers/scripted-hearing.js';
import { waitUntil } from '../../../helpers/wait.js';

const logs = captureLogs('info');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The fleet's shell on an in-memory etcd: two processes, each with its own registry of meetings (an in-process
 * recognizer, captions to stdout), sharing one store. What the 3-process integration test shows with real etcd and
 * real processes, in a second: the spread, a takeover when a lease expires, and the rejoined process evened out.
 */
async function fleetOf(names: string[], meetingIds: string[]): Promise<{ etcd: MemoryEtcd; members: { name: string; fleet: Fleet; registry: MeetingRegistry; lease: ReturnType<MemoryEtcd['lease']> }[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-fleet-unit-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const yaml = meetingIds.map((id) => `  - id: ${id}\n    source: { type: websocket, token: ${id}-token-0123456789 }\n    captions: [ { stdout: {} } ]\n    archive: false\n`).join('');
  const configured: MeetingConfig[] = parseConfig(`state: { dir: ${dir} }\nmeetings:\n${yaml}`, 'fleet.yaml', {}).meetings;
  const etcd = new MemoryEtcd();
  const members = names.map((name) => {
    const registry = new MeetingRegistry({ stateDir: dir, log: logs.log, metrics: new BridgeMetrics(), recognizerFor: () => new HearingRecognizer(() => new ScriptedHearing([])) });
    const lease = etcd.lease();
    const fleet = new Fleet({
      options: { etcd: { endpoints: ['http://127.0.0.1:2379'], prefix: '/caption-bridge/' }, name, leaseSeconds: 4, maxMeetings: 8 },
      store: etcd.store,
      lease,
      registry,
      load: NO_PROCESS_LOAD,
      configured: () => configured,
      account: undefined,
      metrics: new BridgeMetrics(),
      log: logs.log,
    });
    cleanups.push(async () => {
      await fleet.stop();
      await registry.close();
    });
    return { name, fleet, registry, lease };
  });
  for (const member of members) member.fleet.start();
  return { etcd, members };
}

const owners = (fleet: Fleet): Record<string, string | undefined> => Object.fromEntries(fleet.view().meetings.map((m) => [m.id, m.owner]));
const runningOn = (registry: MeetingRegistry): string[] => registry.list().map((m) => m.id).sort();

describe('the fleet shell on an in-memory etcd', () => {
  it('spreads the meetings, takes over when a lease expires, and evens out once the lost process is back', async () => {
    const ids = ['m1', 'm2', 'm3', 'm4'];
    const { members } = await fleetOf(['a', 'b'], ids);
    const [a, b] = members as [(typeof members)[number], (typeof members)[number]];
    await waitUntil(() => Object.values(owners(a.fleet)).filter(Boolean).length === 4 && runningOn(a.registry).length + runningOn(b.registry).length === 4, { what: 'every meeting owned and running', timeoutMs: 5_000 });
    expect(runningOn(a.registry)).toHaveLength(2);
    expect(runningOn(b.registry)).toHaveLength(2);
    // Each meeting runs where etcd says, and only there.
    for (const [id, owner] of Object.entries(owners(b.fleet))) expect((owner === 'a' ? a : b).registry.get(id)).toBeDefined();

    // a loses etcd: its lease runs out (its keys go), it stops its meetings, b takes them.
    const aHad = runningOn(a.registry);
    a.lease.cut();
    await waitUntil(() => aHad.every((id) => owners(b.fleet)[id] === 'b' && b.registry.get(id) !== undefined), { timeoutMs: 5_000, what: "b takes a's meetings" });
    expect(runningOn(a.registry)).toEqual([]);
    expect(logs.text()).toContain('fleet lease lost');
    // etcd is back: a rejoins with a new lease, and b, owning all four, hands idle ones back until the two are even.
    a.lease.restore();
    await waitUntil(() => runningOn(a.registry).length === 2 && runningOn(b.registry).length === 2, { timeoutMs: 10_000, what: 'even again' });
    expect([...runningOn(a.registry), ...runningOn(b.registry)].sort()).toEqual(ids);
  });
});
