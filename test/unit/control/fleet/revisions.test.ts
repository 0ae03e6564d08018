import { describe, expect, it } from 'vitest';
import { KnownRevisions } from '../../../../src/control/fleet/revisions.js';

describe('what the fleet knows of etcd, by revision', () => {
  it('ignores a deletion a reconnected watch replays after the key was claimed again', () => {
    const known = new KnownRevisions();
    // The full read after the reconnect shows the meeting unowned (the old owner's lease expired at 40).
    known.read(41n);
    // This process claims it: its transaction is revision 45.
    expect(known.isNews('owners/room2', 45n)).toBe(true);
    // The watch then replays what it missed: the expiry at 40 and the claim at 45 itself.
    expect(known.isNews('owners/room2', '40')).toBe(false);
    expect(known.isNews('owners/room2', '45')).toBe(false);
    // Someone else deleting the claim later is news.
    expect(known.isNews('owners/room2', '46')).toBe(true);
  });

  it('a key a full read did not return is gone, unless it was written after the read', () => {
    const known = new KnownRevisions();
    expect(known.isNews('owners/room1', 10n)).toBe(true);
    expect(known.isNews('owners/room3', 30n)).toBe(true);
    expect(known.goneAsOf('owners/room1', 20n)).toBe(true);
    expect(known.goneAsOf('owners/room3', 20n)).toBe(false);
    expect(known.goneAsOf('owners/never-seen', 20n)).toBe(true);
  });

  it('after a full read, anything at or below it is old news for every key', () => {
    const known = new KnownRevisions();
    expect(known.isNews('members/a', 5n)).toBe(true);
    known.read(20n);
    expect(known.isNews('members/b', 19n)).toBe(false);
    expect(known.isNews('members/a', 20n)).toBe(false);
    expect(known.isNews('members/a', 21n)).toBe(true);
    // An older read answering late does not move what is known back.
    known.read(15n);
    expect(known.isNews('members/c', 18n)).toBe(false);
  });
});
