/** Journal entries: the versions writers put on them, and how a pull merges the journals of several leases. */
import { describe, expect, it } from 'vitest';
import { journaledRecords, stampJournal, stampSingleWrite, withVersionRun } from '../../lambdas/core/journal.js';

const a = { table: 'activities' as const, id: 'a' };
const b = { table: 'activities' as const, id: 'b' };
const p = { table: 'plans' as const, id: 'a' };

describe('stamping a lease journal', () => {
  it('each record gets the version planned for it; a record without one stays unstamped', () => {
    const lease = { id: 'l1', stamp: 100, journal: [a, b, p] };
    const stamped = stampJournal(lease, new Map([['activities#a', 100], ['plans#a', 102]]));
    expect(stamped).toEqual({ id: 'l1', stamp: 100, journal: [{ ...a, stamp: 100 }, b, { ...p, stamp: 102 }] });
    expect(lease.journal).toEqual([a, b, p]);
  });

  it('a lease without a journal is left as it is', () => {
    const lease = { id: 'l1', stamp: 100 };
    expect(stampJournal(lease, new Map([['activities#a', 100]]))).toBe(lease);
    expect(stampSingleWrite(lease)).toBe(lease);
  });

  it('a lease of one stamp: what it journals is written at that stamp', () => {
    expect(stampSingleWrite({ id: 'l2', stamp: 7, journal: [a] })).toEqual({ id: 'l2', stamp: 7, journal: [{ ...a, stamp: 7 }] });
  });
});

describe('merging the journals a pull reads', () => {
  it('each record once, in key order, at the highest version any lease wrote it at', () => {
    const journals = new Map([
      ['l1', [{ ...b, stamp: 5 }, { ...a, stamp: 3 }]],
      ['l2', [{ ...a, stamp: 9 }, { ...p, stamp: 8 }]],
    ]);
    expect(journaledRecords(['l1', 'l2'], journals)).toEqual([{ ...a, stamp: 9 }, { ...b, stamp: 5 }, { ...p, stamp: 8 }]);
    expect(journaledRecords(['l2', 'l1'], journals)).toEqual([{ ...a, stamp: 9 }, { ...b, stamp: 5 }, { ...p, stamp: 8 }]);
  });

  it('one lease that did not say leaves the record without a version, whatever the others said', () => {
    const journals = new Map([
      ['l1', [{ ...a, stamp: 3 }]],
      ['l2', [a]],
      ['l3', [{ ...a, stamp: 12 }]],
    ]);
    expect(journaledRecords(['l1', 'l2', 'l3'], journals)).toEqual([a]);
    expect(journaledRecords(['l3', 'l2', 'l1'], journals)).toEqual([a]);
  });

  it('only the leases asked for; a lease with no journal read adds nothing', () => {
    const journals = new Map([['l1', [{ ...a, stamp: 3 }]], ['l2', [{ ...b, stamp: 4 }]]]);
    expect(journaledRecords(['l2', 'gone'], journals)).toEqual([{ ...b, stamp: 4 }]);
    expect(journaledRecords(['l1'], undefined)).toEqual([]);
  });
});

describe('a large journal read from its items', () => {
  it('numbered from the first version of its run, in the order read; left unversioned without one', () => {
    expect(withVersionRun([a, p, b], 500)).toEqual([{ ...a, stamp: 500 }, { ...p, stamp: 501 }, { ...b, stamp: 502 }]);
    expect(withVersionRun([a, { ...b, stamp: 7 }], undefined)).toEqual([a, { ...b, stamp: 7 }]);
    expect(withVersionRun([], 500)).toEqual([]);
  });
});
