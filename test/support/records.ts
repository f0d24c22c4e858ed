/** Valid raws of schema v1, as a WatermelonDB client would push them. */
export function activityRaw(id: string, o: Record<string, unknown> = {}) {
  return {
    id,
    sport: 'running',
    started_at: 1_700_000_000_000,
    duration_s: 1800,
    distance_m: 5000,
    elevation_gain_m: 40,
    avg_heart_rate: 150,
    route_polyline: null,
    gps_source: 'manual',
    title: `run ${id}`,
    notes: null,
    perceived_effort: 5,
    upload_id: null,
    ...o,
  };
}

export function planRaw(id: string, o: Record<string, unknown> = {}) {
  return { id, name: `plan ${id}`, goal: null, race_date: null, status: 'active', ...o };
}

export function settingRaw(id: string, value: unknown) {
  return { id, value: JSON.stringify(value) };
}

export function pushBody(changes: Record<string, { created?: unknown[]; updated?: unknown[]; deleted?: string[] }>, lastPulledAt: number | null) {
  const full = Object.fromEntries(Object.entries(changes).map(([t, c]) => [t, { created: c.created ?? [], updated: c.updated ?? [], deleted: c.deleted ?? [] }]));
  return { changes: full, last_pulled_at: lastPulledAt };
}
