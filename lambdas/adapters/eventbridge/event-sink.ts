/** `EventSink` on an EventBridge bus: one PutEvents per batch, failed entries reported by index. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { ChangeEvent, EventSink } from '../../core/change-feed.js';

export class EventBridgeSink implements EventSink {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async put(events: readonly ChangeEvent[]): Promise<{ failed: number[] }> {
    if (events.length === 0) return { failed: [] };
    const res = await this.client.send(
      new PutEventsCommand({
        Entries: events.map((e) => ({ EventBusName: this.busName, Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })),
      }),
    );
    // Entries answer in request order; a failed one carries an ErrorCode instead of an EventId.
    const failed = (res.Entries ?? []).flatMap((entry, i) => (entry.ErrorCode || !entry.EventId ? [i] : []));
    return { failed: (res.FailedEntryCount ?? 0) > 0 && failed.length === 0 ? events.map((_, i) => i) : failed };
  }
}

export function eventBridgeSink(busName: string): EventBridgeSink {
  return new EventBridgeSink(new EventBridgeClient({}), busName);
}
