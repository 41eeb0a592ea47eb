import type { Logger } from 'pino';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import type { GroupEvent } from '../whatsapp/types.js';
import { Lru } from './lru.js';
import type { MessagingHost } from './session-messaging.js';

/** Group notifications remembered per session: a redelivered one is not published twice (bounded). */
const REMEMBERED_NOTIFICATIONS = 2000;

/**
 * A session's group events (group_joined, group_updated, group_participants_changed,
 * group_membership_request), published one at a time in the order WhatsApp sent them, each once
 * per notification (eventId from the notification id, so a re-publication after a restart is
 * recognisably the same event). Durability: Baileys acks a notification itself right after it
 * processed it, before the event is confirmed (see README "Group events").
 */
export class SessionGroups {
  private readonly seen = new Lru<string, true>(REMEMBERED_NOTIFICATIONS);
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: MessagingHost,
    private readonly events: Events,
    private readonly log: Logger,
  ) {}

  onGroupEvents(events: readonly GroupEvent[]): void {
    for (const event of events) {
      this.chain = this.chain.then(() => this.publish(event)).catch((err) => this.log.error({ err, group: event.group }, 'group event not published'));
    }
  }

  /** Resolves once every event handed over so far is published. */
  idle(): Promise<void> {
    return this.chain;
  }

  private subject(action: string, event: GroupEvent): MessageSubject {
    return { numberId: this.host.numberId, sessionId: this.host.id, eventKey: `${action}\0${this.host.id}\0${event.group}\0${event.id}` };
  }

  private async publish(event: GroupEvent): Promise<void> {
    const key = `${event.kind}\0${event.group}\0${event.id}`;
    if (this.seen.has(key)) return;
    const common = { group: event.group, notificationId: event.id, ...(event.actor ? { by: event.actor } : {}), at: event.at };
    switch (event.kind) {
      case 'joined':
        await this.events.message('group_joined', this.subject('group_joined', event), {
          ...common,
          how: event.how,
          ...(event.subject !== undefined ? { subject: event.subject } : {}),
          ...(event.participantCount !== undefined ? { participantCount: event.participantCount } : {}),
          ...(event.participants ? { participants: event.participants } : {}),
        });
        break;
      case 'updated':
        await this.events.message('group_updated', this.subject('group_updated', event), { ...common, changes: event.changes });
        break;
      case 'participants_changed':
        await this.events.message('group_participants_changed', this.subject('group_participants_changed', event), {
          ...common,
          change: event.action,
          participants: event.participants,
        });
        break;
      case 'membership_request':
        await this.events.message('group_membership_request', this.subject('group_membership_request', event), {
          ...common,
          request: event.action,
          participant: event.participant,
          ...(event.method ? { method: event.method } : {}),
        });
        break;
    }
    this.seen.set(key, true);
  }
}
