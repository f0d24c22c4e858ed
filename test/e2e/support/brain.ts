/**
 * A reference consumer of the change feed, as the Brain would be: it follows `GET /local/events`
 * (EventBridge entries), keeps its own view of each user's planned workouts from the events, and
 * when an activity is saved on a day with a planned workout, marks that workout completed
 * (`completed_activity_id`) and moves the plan's next workout one day later, in one message
 * through the server-write ingress (`POST /local/server-write`, the body an SQS message carries in
 * AWS). Deduplicates on `detail.event_id` and ignores a version older than the one it holds
 * (delivery is at least once, ordered per record by `version`).
 */
import type { LocalStack } from '../../../local/server.js';

interface Workout {
  readonly id: string;
  readonly version: number;
  readonly values: Record<string, unknown>;
  readonly deleted: boolean;
}

export interface Reaction {
  readonly userId: string;
  readonly activityId: string;
  readonly completed: string;
  readonly moved?: { readonly id: string; readonly from: string; readonly to: string };
  readonly status: number;
  readonly answer: unknown;
}

export class Brain {
  private cursor: string | undefined;
  private readonly seen = new Set<string>();
  private readonly workouts = new Map<string, Map<string, Workout>>();
  readonly events: any[] = [];
  readonly reactions: Reaction[] = [];

  constructor(private readonly stack: LocalStack) {}

  /** Reads what the feed holds after the cursor (waiting up to `waitMs` for something) and reacts to it. */
  async step(waitMs = 200): Promise<number> {
    const res = await fetch(`${this.stack.url}/local/events?${this.cursor === undefined ? '' : `after=${this.cursor}&`}wait_ms=${waitMs}`);
    if (res.status !== 200) throw new Error(`GET /local/events: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { events: any[]; cursor: string };
    for (const event of page.events) await this.handle(event);
    this.cursor = page.cursor;
    return page.events.length;
  }

  private async handle(event: any): Promise<void> {
    const d = event.detail;
    if (this.seen.has(d.event_id)) return;
    this.seen.add(d.event_id);
    this.events.push(event);
    if (d.table === 'planned_workouts') {
      const mine = this.workouts.get(d.user_id) ?? new Map<string, Workout>();
      this.workouts.set(d.user_id, mine);
      const held = mine.get(d.record_id);
      if (!held || held.version < d.version) mine.set(d.record_id, { id: d.record_id, version: d.version, values: d.values, deleted: d.change === 'deleted' });
      return;
    }
    if (event['detail-type'] === 'activities.created' && typeof d.values.started_at === 'number') await this.completeWorkout(d.user_id, d.record_id, d.values.started_at);
  }

  private async completeWorkout(userId: string, activityId: string, startedAt: number): Promise<void> {
    const day = new Date(startedAt).toISOString().slice(0, 10);
    const live = [...(this.workouts.get(userId)?.values() ?? [])].filter((w) => !w.deleted);
    const done = live.find((w) => w.values.scheduled_on === day && w.values.completed_activity_id === null);
    if (!done) return;
    const next = live
      .filter((w) => w.values.plan_id === done.values.plan_id && String(w.values.scheduled_on) > day)
      .sort((a, b) => String(a.values.scheduled_on).localeCompare(String(b.values.scheduled_on)))[0];
    const moved = next ? { id: next.id, from: String(next.values.scheduled_on), to: addDays(String(next.values.scheduled_on), 1) } : undefined;
    const body = {
      user_id: userId,
      source: 'plan-engine',
      writes: [
        { table: 'planned_workouts', record: { id: done.id, completed_activity_id: activityId } },
        ...(moved ? [{ table: 'planned_workouts', record: { id: moved.id, scheduled_on: moved.to } }] : []),
      ],
    };
    const res = await fetch(`${this.stack.url}/local/server-write`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    this.reactions.push({ userId, activityId, completed: done.id, ...(moved ? { moved } : {}), status: res.status, answer: await res.json() });
  }
}

function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
