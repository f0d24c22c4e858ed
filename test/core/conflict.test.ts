/**
 * The conflict policy (`lambdas/core/conflict.ts`), table-driven: every entity × {update/update,
 * delete/update, update/delete, create/create}, the recorded-data source priority matrix
 * (garmin / manual / null), a property that nothing a rule discards goes unreported, the
 * server-side write planner (`planServerWrite`) and the stability of conflict-log ids.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONFLICT_RULES, recordedColumns, resolveConflict, sourcePriority, type DeviceChange, type LostChange, type Resolution } from '../../lambdas/core/conflict.js';
import { conflictId, toReport } from '../../lambdas/core/conflict-log.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { tableDef, type RecordData, type TableDef, type TableName } from '../../lambdas/core/schema.js';
import { planServerWrite, type ServerWrite } from '../../lambdas/core/server-write.js';

const def = (name: TableName) => tableDef(name) as TableDef;
const ACTIVITIES = def('activities');
const PLANS = def('plans');
const WORKOUTS = def('planned_workouts');
const SETTINGS = def('settings');
const RECORDED = ['started_at', 'duration_s', 'distance_m', 'elevation_gain_m', 'avg_heart_rate', 'route_polyline', 'gps_source'];

const activity = (o: RecordData = {}): RecordData => ({
  sport: 'running',
  started_at: 1_700_000_000_000,
  duration_s: 1800,
  distance_m: 5000,
  elevation_gain_m: 40,
  avg_heart_rate: 150,
  route_polyline: 'manual-line',
  gps_source: 'manual',
  title: 'Morning run',
  notes: null,
  perceived_effort: 5,
  upload_id: null,
  ...o,
});
const plan = (o: RecordData = {}): RecordData => ({ name: 'Marathon', goal: 'sub 4h', race_date: 1_790_000_000_000, status: 'active', ...o });
const workout = (o: RecordData = {}): RecordData => ({
  plan_id: 'plan1',
  scheduled_on: '2027-03-01',
  workout_type: 'easy',
  target_distance_m: 8000,
  target_duration_s: null,
  description: null,
  completed_activity_id: null,
  ...o,
});
const setting = (value: unknown): RecordData => ({ value: JSON.stringify(value) });

const live = (data: RecordData) => ({ data, deleted: false });
const gone = (data: RecordData) => ({ data, deleted: true });
/** An edit of `changed` on top of `base` (WatermelonDB sends the whole raw and `_changed`). */
const edit = (base: RecordData, changed: RecordData): DeviceChange => ({ kind: 'upsert', values: { ...base, ...changed }, changedColumns: Object.keys(changed) });
/** A record created on the device: every column is its own. */
const created = (values: RecordData): DeviceChange => ({ kind: 'upsert', values, changedColumns: Object.keys(values) });
const del: DeviceChange = { kind: 'delete' };
const pick = (data: RecordData, cols: readonly string[]) => Object.fromEntries(cols.map((c) => [c, data[c] ?? null]));

interface Row {
  readonly name: string;
  readonly table: TableDef;
  readonly server: { data: RecordData; deleted: boolean };
  readonly change: DeviceChange;
  readonly expected: Resolution;
}

// Base versions the device edited: the server's copy below has changed since.
const A0 = activity();
const P0 = plan();
const W0 = workout();

const decisionTable: Row[] = [
  // ── activities ──────────────────────────────────────────────────────────────────────────
  {
    name: 'activities update/update, user fields: the device wins per column; the server value it replaced is logged',
    table: ACTIVITIES,
    server: live(activity({ title: 'Server title', notes: 'server notes' })),
    change: edit(A0, { notes: 'device notes' }),
    expected: {
      outcome: 'write',
      data: activity({ title: 'Server title', notes: 'device notes' }),
      keptColumns: ['notes'],
      lost: [{ rule: 'activity-fields-client-wins', losingAction: 'update', losing: { notes: 'server notes' }, winning: { notes: 'device notes' } }],
    },
  },
  {
    name: 'activities update/update, recorded: garmin on the server beats a manual edit; the whole device group is logged',
    table: ACTIVITIES,
    server: live(activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin', duration_s: 1790 })),
    change: edit(A0, { distance_m: 6000 }),
    expected: {
      // Nothing of the device's change stands: the server's copy is kept as it is (not re-stamped).
      outcome: 'keep',
      data: activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin', duration_s: 1790 }),
      keptColumns: [],
      lost: [
        {
          rule: 'activity-recorded-source-priority',
          losingAction: 'update',
          losing: pick(activity({ distance_m: 6000 }), RECORDED),
          winning: pick(activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin', duration_s: 1790 }), RECORDED),
        },
      ],
    },
  },
  {
    name: 'activities update/update, recorded + notes: garmin group stays, device notes win (the test-2 shape)',
    table: ACTIVITIES,
    server: live(activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin' })),
    change: edit(A0, { distance_m: 6000, notes: 'legs heavy' }),
    expected: {
      outcome: 'write',
      data: activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin', notes: 'legs heavy' }),
      keptColumns: ['notes'],
      lost: [
        {
          rule: 'activity-recorded-source-priority',
          losingAction: 'update',
          losing: pick(activity({ distance_m: 6000 }), RECORDED),
          winning: pick(activity({ distance_m: 5100, route_polyline: 'garmin-line', gps_source: 'garmin' }), RECORDED),
        },
        { rule: 'activity-fields-client-wins', losingAction: 'update', losing: { notes: null }, winning: { notes: 'legs heavy' } },
      ],
    },
  },
  {
    name: 'activities update/update, recorded, equal priority (manual/manual): the later write (the device) moves its whole group',
    table: ACTIVITIES,
    server: live(activity({ duration_s: 2000, elevation_gain_m: 99 })),
    change: edit(A0, { distance_m: 6000 }),
    expected: {
      outcome: 'write',
      // The device's group is its values for every recorded column, not only the one it typed.
      data: activity({ distance_m: 6000 }),
      keptColumns: RECORDED,
      lost: [
        {
          rule: 'activity-recorded-source-priority',
          losingAction: 'update',
          losing: pick(activity({ duration_s: 2000, elevation_gain_m: 99 }), RECORDED),
          winning: pick(activity({ distance_m: 6000 }), RECORDED),
        },
      ],
    },
  },
  {
    name: 'activities update/update: values equal to the server copy are no conflict',
    table: ACTIVITIES,
    server: live(activity({ notes: 'same', title: 'other' })),
    change: edit(A0, { notes: 'same' }),
    expected: { outcome: 'write', data: activity({ notes: 'same', title: 'other' }), keptColumns: [], lost: [] },
  },
  {
    name: 'activities delete/update: the delete wins; the edit it deletes is logged with the values it had',
    table: ACTIVITIES,
    server: live(activity({ notes: 'edited after the delete base' })),
    change: del,
    expected: {
      outcome: 'delete',
      data: activity({ notes: 'edited after the delete base' }),
      keptColumns: [],
      lost: [{ rule: 'delete-wins', losingAction: 'update', losing: activity({ notes: 'edited after the delete base' }), winning: {} }],
    },
  },
  {
    name: 'activities update/delete: the delete wins (no resurrection); the edited columns are logged',
    table: ACTIVITIES,
    server: gone(A0),
    change: edit(A0, { notes: 'too late', distance_m: 4200 }),
    expected: {
      outcome: 'keep',
      data: A0,
      keptColumns: [],
      lost: [{ rule: 'delete-wins', losingAction: 'update', losing: { notes: 'too late', distance_m: 4200 }, winning: {} }],
    },
  },
  {
    name: 'activities delete/delete: nothing to decide',
    table: ACTIVITIES,
    server: gone(A0),
    change: del,
    expected: { outcome: 'keep', data: A0, keptColumns: [], lost: [] },
  },
  {
    name: 'activities create/create (a create re-sent whose ack was lost, meanwhile Garmin data landed): garmin group stays, device fields win',
    table: ACTIVITIES,
    server: live(activity({ distance_m: 5100, gps_source: 'garmin', title: 'Garmin title' })),
    change: created(activity({ title: 'My title' })),
    expected: {
      outcome: 'write',
      data: activity({ distance_m: 5100, gps_source: 'garmin', title: 'My title' }),
      keptColumns: ['title'],
      lost: [
        { rule: 'activity-recorded-source-priority', losingAction: 'update', losing: pick(A0, RECORDED), winning: pick(activity({ distance_m: 5100, gps_source: 'garmin' }), RECORDED) },
        { rule: 'activity-fields-client-wins', losingAction: 'update', losing: { title: 'Garmin title' }, winning: { title: 'My title' } },
      ],
    },
  },
  {
    name: 'activities create/create with identical values: no conflict',
    table: ACTIVITIES,
    server: live(A0),
    change: created(A0),
    expected: { outcome: 'write', data: A0, keptColumns: [], lost: [] },
  },

  // ── plans and planned_workouts ──────────────────────────────────────────────────────────
  ...(
    [
      [PLANS, P0, { goal: 'sub 3:45' }, { goal: 'plan engine goal', race_date: 1_791_000_000_000 }],
      [WORKOUTS, W0, { description: 'device: strides' }, { target_distance_m: 10_000, description: 'engine: tempo' }],
    ] as const
  ).flatMap(([table, base, mine, engine]): Row[] => {
    const server = { ...base, ...engine } as RecordData;
    const device = { ...base, ...mine } as RecordData;
    const differing = Object.keys(mine);
    return [
      {
        name: `${table.name} update/update: the server wins; the device's edit is logged`,
        table,
        server: live(server),
        change: edit(base, mine),
        expected: {
          outcome: 'keep',
          data: server,
          keptColumns: [],
          lost: [{ rule: 'plan-server-wins', losingAction: 'update', losing: pick(device, differing), winning: pick(server, differing) }],
        },
      },
      {
        name: `${table.name} update/update on another column: still the server's version (the record is judged whole)`,
        table,
        server: live({ ...base, ...Object.fromEntries(Object.keys(engine).filter((c) => !(c in mine)).map((c) => [c, (engine as RecordData)[c] as RecordData[string]])) }),
        change: edit(base, mine),
        expected: {
          outcome: 'keep',
          data: { ...base, ...Object.fromEntries(Object.keys(engine).filter((c) => !(c in mine)).map((c) => [c, (engine as RecordData)[c] as RecordData[string]])) },
          keptColumns: [],
          lost: [{ rule: 'plan-server-wins', losingAction: 'update', losing: pick(device, differing), winning: pick(base, differing) }],
        },
      },
      {
        name: `${table.name} delete/update: the server's edit survives (re-stamped so the device pulls it back); the delete is logged`,
        table,
        server: live(server),
        change: del,
        expected: { outcome: 'write', data: server, keptColumns: [], lost: [{ rule: 'plan-server-wins', losingAction: 'delete', losing: {}, winning: server }] },
      },
      {
        name: `${table.name} update/delete: stays deleted; the edit is logged`,
        table,
        server: gone(base),
        change: edit(base, mine),
        expected: { outcome: 'keep', data: base, keptColumns: [], lost: [{ rule: 'delete-wins', losingAction: 'update', losing: pick(device, differing), winning: {} }] },
      },
      {
        name: `${table.name} create/create (a create re-sent after the engine changed it): the server wins`,
        table,
        server: live(server),
        change: created(device),
        expected: {
          outcome: 'keep',
          data: server,
          keptColumns: [],
          lost: [
            {
              rule: 'plan-server-wins',
              losingAction: 'update',
              losing: pick(device, Object.keys(device).filter((c) => device[c] !== server[c])),
              winning: pick(server, Object.keys(device).filter((c) => device[c] !== server[c])),
            },
          ],
        },
      },
      {
        name: `${table.name} delete/delete: nothing to decide`,
        table,
        server: gone(base),
        change: del,
        expected: { outcome: 'keep', data: base, keptColumns: [], lost: [] },
      },
    ];
  }),

  // ── settings ────────────────────────────────────────────────────────────────────────────
  {
    name: 'settings update/update: the later received (the device) wins; the value it replaced is logged',
    table: SETTINGS,
    server: live(setting('mi')),
    change: edit(setting('km'), setting('m')),
    expected: {
      outcome: 'write',
      data: setting('m'),
      keptColumns: ['value'],
      lost: [{ rule: 'settings-last-write-wins', losingAction: 'update', losing: setting('mi'), winning: setting('m') }],
    },
  },
  {
    name: 'settings delete/update: the delete, received later, wins; the value it deletes is logged',
    table: SETTINGS,
    server: live(setting('mi')),
    change: del,
    expected: { outcome: 'delete', data: setting('mi'), keptColumns: [], lost: [{ rule: 'settings-last-write-wins', losingAction: 'update', losing: setting('mi'), winning: {} }] },
  },
  {
    name: 'settings update/delete: the edit, received later, wins and the key lives again; the delete is logged',
    table: SETTINGS,
    server: gone(setting('km')),
    change: edit(setting('km'), setting('dark')),
    expected: { outcome: 'write', data: setting('dark'), keptColumns: ['value'], lost: [{ rule: 'settings-last-write-wins', losingAction: 'delete', losing: {}, winning: setting('dark') }] },
  },
  {
    name: 'settings create/create (two devices create one key): the later received wins',
    table: SETTINGS,
    server: live(setting('dark')),
    change: created(setting('light')),
    expected: {
      outcome: 'write',
      data: setting('light'),
      keptColumns: ['value'],
      lost: [{ rule: 'settings-last-write-wins', losingAction: 'update', losing: setting('dark'), winning: setting('light') }],
    },
  },
  {
    name: 'settings create/create with the same value: no conflict',
    table: SETTINGS,
    server: live(setting('dark')),
    change: created(setting('dark')),
    expected: { outcome: 'write', data: setting('dark'), keptColumns: [], lost: [] },
  },
];

describe('resolveConflict — the decision table (entity × update/update, delete/update, update/delete, create/create)', () => {
  it.each(decisionTable.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    expect(resolveConflict(row.table, row.server, row.change)).toEqual(row.expected);
  });

  it('covers every entity and every kind of conflict', () => {
    for (const t of ['activities', 'plans', 'planned_workouts', 'settings']) {
      for (const kind of ['update/update', 'delete/update', 'update/delete', 'create/create']) {
        expect(decisionTable.some((r) => r.table.name === t && r.name.includes(kind)), `${t} ${kind}`).toBe(true);
      }
    }
    // Every rule is reachable from some row.
    const rules = new Set(decisionTable.flatMap((r) => r.expected.lost.map((l) => l.rule)));
    expect([...rules].sort()).toEqual([...CONFLICT_RULES].sort());
  });

  it('uploads (server-owned) keep the server copy and log nothing', () => {
    const uploads = def('uploads');
    const data = { kind: 'fit', content_type: 'application/octet-stream', size_bytes: 10, activity_id: null, status: 'processed', error: null };
    expect(resolveConflict(uploads, live(data), edit(data, { status: 'failed' }))).toEqual({ outcome: 'keep', data, keptColumns: [], lost: [] });
  });

  it('is pure: inputs are not mutated', () => {
    const server = live(activity({ gps_source: 'garmin', distance_m: 1 }));
    const change = edit(A0, { distance_m: 2, notes: 'n' });
    const before = structuredClone({ server, change });
    resolveConflict(ACTIVITIES, server, change);
    expect({ server, change }).toEqual(before);
  });
});

describe('resolveConflict — per column: only columns both sides changed conflict (server.changedColumns)', () => {
  const upsert = (values: RecordData, changedColumns: string[]): DeviceChange => ({ kind: 'upsert', values, changedColumns });

  it('activity fields: the server changed notes, the device title → both stand, nothing logged', () => {
    const server = activity({ notes: 'server notes' });
    const r = resolveConflict(ACTIVITIES, { data: server, deleted: false, changedColumns: ['notes'] }, upsert(activity({ title: 'device title' }), ['title']));
    expect(r).toEqual({ outcome: 'write', data: { ...server, title: 'device title' }, keptColumns: ['title'], lost: [] });
  });

  it('activity fields: both changed notes → the device wins and the server value is logged', () => {
    const r = resolveConflict(ACTIVITIES, { data: activity({ notes: 'server' }), deleted: false, changedColumns: ['notes'] }, upsert(activity({ notes: 'device' }), ['notes']));
    expect(r.lost).toEqual([{ rule: 'activity-fields-client-wins', losingAction: 'update', losing: { notes: 'server' }, winning: { notes: 'device' } }]);
  });

  it('recorded data the server did not change since the base is the device’s to edit, even over Garmin data', () => {
    const server = activity({ gps_source: 'garmin', distance_m: 5123, notes: 'server notes' });
    const r = resolveConflict(ACTIVITIES, { data: server, deleted: false, changedColumns: ['notes'] }, upsert({ ...server, notes: null, distance_m: 5000, gps_source: 'manual' }, ['distance_m', 'gps_source']));
    expect(r).toMatchObject({ outcome: 'write', keptColumns: ['distance_m', 'gps_source'], lost: [] });
    expect(r.data).toMatchObject({ distance_m: 5000, gps_source: 'manual', notes: 'server notes' });
  });

  it('recorded data both changed → the priority rule, as without versions', () => {
    const server = activity({ gps_source: 'garmin', distance_m: 5123 });
    const r = resolveConflict(ACTIVITIES, { data: server, deleted: false, changedColumns: ['distance_m', 'gps_source'] }, upsert(activity({ distance_m: 5000 }), ['distance_m']));
    expect(r.data).toMatchObject({ distance_m: 5123, gps_source: 'garmin' });
    expect(r.lost.map((l) => l.rule)).toEqual(['activity-recorded-source-priority']);
  });

  it('settings: the server changed nothing since the base → applied, nothing logged', () => {
    const r = resolveConflict(SETTINGS, { data: setting('km'), deleted: false, changedColumns: [] }, upsert(setting('mi'), ['value']));
    expect(r).toEqual({ outcome: 'write', data: setting('mi'), keptColumns: ['value'], lost: [] });
  });

  it('plans stay record-level: any server change since the base wins over the whole device edit', () => {
    const r = resolveConflict(PLANS, { data: plan({ race_date: 1 }), deleted: false, changedColumns: ['race_date'] }, upsert(plan({ goal: 'device goal' }), ['goal']));
    expect(r.outcome).toBe('keep');
    expect(r.lost).toEqual([{ rule: 'plan-server-wins', losingAction: 'update', losing: { goal: 'device goal' }, winning: { goal: 'sub 4h' } }]);
    // …but a plan the server only re-stamped (no column changed) takes the device's edit.
    expect(resolveConflict(PLANS, { data: plan(), deleted: false, changedColumns: [] }, upsert(plan({ goal: 'device goal' }), ['goal'])).outcome).toBe('write');
  });

  it('a delete over a record changed since the base logs only the changed columns; over a mere re-stamp, nothing', () => {
    const r = resolveConflict(ACTIVITIES, { data: activity({ notes: 'late note' }), deleted: false, changedColumns: ['notes'] }, { kind: 'delete' });
    expect(r).toMatchObject({ outcome: 'delete', lost: [{ rule: 'delete-wins', losing: { notes: 'late note' }, winning: {} }] });
    expect(resolveConflict(PLANS, { data: plan(), deleted: false, changedColumns: [] }, { kind: 'delete' })).toMatchObject({ outcome: 'delete', lost: [] });
  });
});

describe('resolveConflict — activity recorded data, source priority garmin > manual > null', () => {
  const SOURCES = ['garmin', 'manual', null] as const;
  it('orders the sources', () => {
    expect(sourcePriority('garmin')).toBeGreaterThan(sourcePriority('manual'));
    expect(sourcePriority('manual')).toBeGreaterThan(sourcePriority(null));
    expect(sourcePriority('something-else')).toBe(sourcePriority(null));
    expect(recordedColumns(ACTIVITIES).map((c) => c.name)).toEqual(RECORDED);
  });

  const matrix = SOURCES.flatMap((server) => SOURCES.map((device) => [server, device] as const));
  it.each(matrix)('server %s vs device %s', (serverSource, deviceSource) => {
    const serverData = activity({ gps_source: serverSource, distance_m: 1111, route_polyline: `line-${serverSource}`, duration_s: 1000 });
    const change = edit(A0, { gps_source: deviceSource, distance_m: 2222, route_polyline: `line-${deviceSource}-device` });
    const r = resolveConflict(ACTIVITIES, live(serverData), change);
    const deviceGroup = pick((change as { values: RecordData }).values, RECORDED);
    const serverGroup = pick(serverData, RECORDED);
    const deviceWins = sourcePriority(deviceSource) >= sourcePriority(serverSource);
    // A device that keeps nothing leaves the server's copy as it is.
    expect(r.outcome).toBe(deviceWins ? 'write' : 'keep');
    // The group moves as a unit: all of it from the winner.
    expect(pick(r.data, RECORDED)).toEqual(deviceWins ? deviceGroup : serverGroup);
    expect(r.keptColumns).toEqual(deviceWins ? RECORDED : []);
    expect(r.lost).toEqual([
      { rule: 'activity-recorded-source-priority', losingAction: 'update', losing: deviceWins ? serverGroup : deviceGroup, winning: deviceWins ? deviceGroup : serverGroup },
    ]);
    // Non-recorded columns are the server's (the device changed none).
    expect({ ...r.data, ...Object.fromEntries(RECORDED.map((c) => [c, null])) }).toEqual({ ...serverData, ...Object.fromEntries(RECORDED.map((c) => [c, null])) });
  });

  it('a recorded column the device did not send is the server one (never a mix when the device loses)', () => {
    const serverData = activity({ gps_source: 'garmin', distance_m: 1111, route_polyline: 'garmin-line' });
    const { route_polyline: _omitted, ...values } = activity({ distance_m: 2222 });
    const r = resolveConflict(ACTIVITIES, live(serverData), { kind: 'upsert', values, changedColumns: ['distance_m'] });
    expect(pick(r.data, RECORDED)).toEqual(pick(serverData, RECORDED));
  });
});

describe('resolveConflict — nothing a rule discards goes unreported (property)', () => {
  const tables = [ACTIVITIES, PLANS, WORKOUTS, SETTINGS];
  const small = {
    activities: { sport: ['running', 'cycling'], started_at: [1, 2], duration_s: [null, 10, 20], distance_m: [null, 100, 200], elevation_gain_m: [null, 5], avg_heart_rate: [null, 140], route_polyline: [null, 'a', 'b'], gps_source: ['garmin', 'manual', null], title: [null, 't1', 't2'], notes: [null, 'n1', 'n2'], perceived_effort: [null, 3, 7], upload_id: [null, 'u1'] },
    plans: { name: ['p1', 'p2'], goal: [null, 'g1', 'g2'], race_date: [null, 1, 2], status: ['active', 'archived'] },
    planned_workouts: { plan_id: ['plan1', 'plan2'], scheduled_on: ['2027-01-01', '2027-01-02'], workout_type: ['easy', 'long'], target_distance_m: [null, 1, 2], target_duration_s: [null, 3], description: [null, 'd1', 'd2'], completed_activity_id: [null, 'a1'] },
    settings: { value: ['"a"', '"b"', '1'] },
  } as Record<string, Record<string, readonly (string | number | null)[]>>;
  const recordOf = (t: TableDef) => fc.record(Object.fromEntries(t.columns.map((c) => [c.name, fc.constantFrom(...(small[t.name]?.[c.name] ?? [null]))]))) as fc.Arbitrary<RecordData>;
  const scenario = fc.constantFrom(...tables).chain((t) =>
    fc.record({
      table: fc.constant(t),
      server: recordOf(t),
      serverDeleted: fc.boolean(),
      device: recordOf(t),
      changed: fc.subarray(t.columns.map((c) => c.name)),
      deviceDeletes: fc.boolean(),
    }),
  );

  it('every device column that differs from the server either stands in the result or is in a lost entry; a group moves whole', () => {
    fc.assert(
      fc.property(scenario, ({ table, server, serverDeleted, device, changed, deviceDeletes }) => {
        const change: DeviceChange = deviceDeletes ? del : { kind: 'upsert', values: device, changedColumns: changed };
        const r = resolveConflict(table, { data: server, deleted: serverDeleted }, change);
        const columns = table.columns.map((c) => c.name);
        expect(Object.keys(r.data).every((c) => columns.includes(c))).toBe(true);
        if (r.outcome === 'keep') expect(r.data).toEqual(server);
        for (const l of r.lost) expect(CONFLICT_RULES).toContain(l.rule);
        if (change.kind === 'delete') {
          // A device delete that does not happen is logged; one that does logs what it deleted.
          if (!serverDeleted && r.outcome !== 'delete') expect(r.lost).toContainEqual(expect.objectContaining({ losingAction: 'delete' }));
          if (!serverDeleted && r.outcome === 'delete') expect(r.lost).toContainEqual(expect.objectContaining({ losingAction: 'update', losing: server }));
          return;
        }
        for (const c of r.keptColumns) expect(r.data[c], `kept ${c}`).toEqual(device[c]);
        for (const c of changed) {
          if (!serverDeleted && device[c] === server[c]) continue;
          const stands = r.outcome === 'write' && r.data[c] === device[c];
          const logged = r.lost.some((l: LostChange) => l.losingAction === 'update' && c in l.losing && l.losing[c] === device[c]);
          expect(stands || logged, `${table.name}.${c}: device value ${String(device[c])} neither stands nor is logged`).toBe(true);
        }
        if (table.policy === 'activity' && r.outcome === 'write') {
          // The recorded group is all the server's or all the device's, never a mix.
          const group = JSON.stringify(pick(r.data, RECORDED));
          const deviceGroup = JSON.stringify(pick(device, RECORDED));
          expect([JSON.stringify(pick(server, RECORDED)), deviceGroup]).toContain(group);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('planServerWrite — server-side writes (plan engine, Garmin, restore)', () => {
  const stored = (table: TableName, data: RecordData, o: Partial<StoredRecord> = {}): StoredRecord => ({ table, id: 'r1', data, created_at: 100, updated_at: 200, deleted_at: null, ...o });
  const write = (o: Partial<ServerWrite> & Pick<ServerWrite, 'source' | 'table' | 'values'>): ServerWrite => ({ id: 'r1', ...o });

  it('plan engine on a live workout: its values win, nothing is logged', () => {
    const r = planServerWrite(write({ source: 'plan-engine', table: 'planned_workouts', values: { target_distance_m: 12_000 } }), stored('planned_workouts', W0));
    expect(r).toEqual({ action: 'update', data: workout({ target_distance_m: 12_000 }), lost: [] });
  });

  it('plan engine writing what is stored: noop', () => {
    expect(planServerWrite(write({ source: 'plan-engine', table: 'plans', values: { name: P0.name as string } }), stored('plans', P0))).toEqual({ action: 'noop', lost: [] });
  });

  it('plan engine creating a new workout: every required column needed, nullable ones default to null', () => {
    expect(planServerWrite(write({ source: 'plan-engine', table: 'planned_workouts', values: { plan_id: 'plan1', scheduled_on: '2027-03-01', workout_type: 'easy' } }), undefined)).toEqual({
      action: 'create',
      data: workout({ target_distance_m: null }),
      lost: [],
    });
    let caught: unknown;
    try {
      planServerWrite(write({ source: 'plan-engine', table: 'planned_workouts', values: { plan_id: 'plan1' } }), undefined);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).details.map((d) => d.field).sort()).toEqual(['scheduled_on', 'workout_type']);
  });

  it.each([
    ['plan-engine', 'plans', { name: 'x' }],
    ['plan-engine', 'planned_workouts', { description: 'x' }],
    ['garmin', 'activities', { distance_m: 1 }],
  ] as const)('%s on a deleted %s record: ignored, never resurrected', (source, table, values) => {
    const data = table === 'activities' ? A0 : table === 'plans' ? P0 : W0;
    expect(planServerWrite(write({ source, table, values }), stored(table, data, { deleted_at: 300, updated_at: 300 }))).toEqual({ action: 'ignored', lost: [] });
  });

  it('restore on a deleted record: resurrects it with the restored values', () => {
    expect(planServerWrite(write({ source: 'restore', table: 'plans', values: { goal: 'back' } }), stored('plans', P0, { deleted_at: 300 }))).toEqual({
      action: 'resurrect',
      data: plan({ goal: 'back' }),
      lost: [],
    });
  });

  it('restore of a losing delete: deletes a live record; a missing or deleted one is a noop', () => {
    expect(planServerWrite(write({ source: 'restore', table: 'plans', values: 'delete' }), stored('plans', P0))).toEqual({ action: 'delete', data: P0, lost: [] });
    expect(planServerWrite(write({ source: 'restore', table: 'plans', values: 'delete' }), stored('plans', P0, { deleted_at: 300 }))).toEqual({ action: 'noop', lost: [] });
    expect(planServerWrite(write({ source: 'restore', table: 'plans', values: 'delete' }), undefined)).toEqual({ action: 'noop', lost: [] });
  });

  it('Garmin on a manual activity: the whole recorded group becomes Garmin (unsent recorded columns cleared); the manual group is logged', () => {
    const r = planServerWrite(write({ source: 'garmin', table: 'activities', values: { started_at: 1_700_000_000_500, distance_m: 5100, route_polyline: 'garmin-line' } }), stored('activities', A0));
    const garminGroup = { started_at: 1_700_000_000_500, duration_s: null, distance_m: 5100, elevation_gain_m: null, avg_heart_rate: null, route_polyline: 'garmin-line', gps_source: 'garmin' };
    expect(r).toEqual({
      action: 'update',
      data: { ...A0, ...garminGroup },
      lost: [{ rule: 'activity-recorded-source-priority', losingAction: 'update', losing: pick(A0, RECORDED), winning: garminGroup }],
    });
  });

  it('Garmin on a Garmin activity: equal priority, the newer data wins, nothing logged', () => {
    const current = activity({ gps_source: 'garmin', distance_m: 5000 });
    const r = planServerWrite(write({ source: 'garmin', table: 'activities', values: pick(activity({ distance_m: 5050 }), RECORDED) }), stored('activities', current));
    expect(r).toEqual({ action: 'update', data: activity({ gps_source: 'garmin', distance_m: 5050 }), lost: [] });
  });

  it('Garmin data already stored: noop', () => {
    const current = activity({ gps_source: 'garmin' });
    expect(planServerWrite(write({ source: 'garmin', table: 'activities', values: pick(current, RECORDED) }), stored('activities', current))).toEqual({ action: 'noop', lost: [] });
  });

  it('Garmin fills user columns the user left empty, never overwrites what the user typed', () => {
    const current = activity({ title: 'Mine', notes: null });
    const r = planServerWrite(write({ source: 'garmin', table: 'activities', values: { ...pick(current, RECORDED), title: 'Garmin title', notes: 'Garmin notes' } }), stored('activities', current));
    expect(r.data).toMatchObject({ title: 'Mine', notes: 'Garmin notes', gps_source: 'garmin' });
  });

  it('Garmin data for an existing activity must carry the start time: the group is replaced whole and `started_at` cannot be cleared', () => {
    let caught: unknown;
    try {
      planServerWrite(write({ source: 'garmin', table: 'activities', values: { distance_m: 5100, route_polyline: 'garmin-line' } }), stored('activities', A0));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).details).toEqual([expect.objectContaining({ path: 'record.started_at', field: 'started_at', table: 'activities', record_id: 'r1' })]);
  });

  it('Garmin creating an activity: stamped as garmin, required columns needed', () => {
    const r = planServerWrite(write({ source: 'garmin', table: 'activities', values: { sport: 'running', started_at: 5, distance_m: 10 } }), undefined);
    expect(r).toMatchObject({ action: 'create', data: { sport: 'running', started_at: 5, distance_m: 10, gps_source: 'garmin', title: null }, lost: [] });
    expect(() => planServerWrite(write({ source: 'garmin', table: 'activities', values: { distance_m: 10 } }), undefined)).toThrow(ValidationError);
  });
});

describe('conflictId — the same resolution hashes the same on server and client', () => {
  const lost: LostChange = { rule: 'plan-server-wins', losingAction: 'update', losing: { description: 'strides', target_distance_m: 8000 }, winning: { description: 'tempo', target_distance_m: 10_000 } };

  it('is 32 lowercase hex digits and pinned (ids already logged must keep matching after an upgrade)', () => {
    const id = conflictId('planned_workouts', 'pw1', 1_700_000_000_123, lost);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).toBe(conflictId('planned_workouts', 'pw1', 1_700_000_000_123, structuredClone(lost)));
    // Golden value: a change here breaks dedup between devices on different versions.
    expect(id).toBe('cf283983464193e90ab3dab114fc8506');
  });

  it('does not depend on the key order of the losing values nor on the winning values', () => {
    const reordered: LostChange = { ...lost, losing: { target_distance_m: 8000, description: 'strides' }, winning: {} };
    expect(conflictId('planned_workouts', 'pw1', 7, reordered)).toBe(conflictId('planned_workouts', 'pw1', 7, lost));
  });

  it('differs when any identifying part differs', () => {
    const base = conflictId('planned_workouts', 'pw1', 7, lost);
    const variants = [
      conflictId('plans', 'pw1', 7, lost),
      conflictId('planned_workouts', 'pw2', 7, lost),
      conflictId('planned_workouts', 'pw1', 8, lost),
      conflictId('planned_workouts', 'pw1', 7, { ...lost, rule: 'delete-wins' }),
      conflictId('planned_workouts', 'pw1', 7, { ...lost, losingAction: 'delete' }),
      conflictId('planned_workouts', 'pw1', 7, { ...lost, losing: { ...lost.losing, description: 'strides!' } }),
      conflictId('planned_workouts', 'pw1', 7, { ...lost, losing: { description: 'strides' } }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('toReport carries the id and the entry fields', () => {
    expect(toReport('planned_workouts', 'pw1', 7, lost)).toEqual({
      id: conflictId('planned_workouts', 'pw1', 7, lost),
      table: 'planned_workouts',
      record_id: 'pw1',
      rule: 'plan-server-wins',
      losing_action: 'update',
      losing: lost.losing,
      winning: lost.winning,
    });
  });

  it('has no collisions over many distinct resolutions', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) ids.add(conflictId('settings', `k${i % 100}`, i, { rule: 'settings-last-write-wins', losingAction: 'update', losing: { value: String(i) }, winning: {} }));
    expect(ids.size).toBe(20_000);
  });
});
