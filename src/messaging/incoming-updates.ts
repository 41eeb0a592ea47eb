import type { Logger } from 'pino';
import type { Events } from '../events/event-publisher.js';
import type { IncomingUpdate } from '../whatsapp/types.js';
import { Lru } from './lru.js';
import type { MessageHistory } from './message-history.js';

export interface IncomingUpdatesDeps {
  host: { readonly id: string; readonly numberId: number };
  events: Events;
  log: Logger;
  history?: MessageHistory | undefined;
  /** How many updates are remembered to drop a second delivery of one. */
  capacity: number;
}

const ACTION = { reaction: 'message_reaction', edit: 'message_edited', revoke: 'message_revoked' } as const;

/**
 * Reactions, edits and revokes from others → message_reaction, message_edited, message_revoked,
 * with the durability of message_received: each event is confirmed by the broker before the
 * update is acknowledged to WhatsApp (which then stops redelivering it), its eventId derived from
 * (session, chat, update id) so a redelivery re-publishes the same event, and an update already
 * published is dropped (per chat and id). The caller runs them one at a time, in order.
 */
export class IncomingUpdates {
  private readonly seen: Lru<string, true>;

  constructor(private readonly deps: IncomingUpdatesDeps) {
    this.seen = new Lru(deps.capacity);
  }

  async receive(u: IncomingUpdate, offline: boolean): Promise<void> {
    const { host, events, log } = this.deps;
    const seenKey = `${u.chat}\0${u.id}`;
    if (this.seen.has(seenKey)) {
      log.debug({ updateId: u.id, kind: u.kind }, 'duplicate update ignored');
      u.acknowledge();
      return;
    }
    const action = ACTION[u.kind];
    const subject = { numberId: host.numberId, sessionId: host.id, eventKey: `${action}\0${host.id}\0${seenKey}` };
    const who = { chat: u.chat, isGroup: u.isGroup, from: u.from, ...(u.participant ? { participant: u.participant } : {}), offline };
    switch (u.kind) {
      case 'reaction':
        await events.message('message_reaction', subject, {
          messageId: u.id,
          reactedTo: u.target.id,
          ...(u.target.fromMe !== undefined ? { reactedToFromMe: u.target.fromMe } : {}),
          ...who,
          emoji: u.emoji,
          sentAt: u.at,
        });
        break;
      case 'edit':
        await events.message('message_edited', subject, {
          messageId: u.target.id,
          editId: u.id,
          ...who,
          ...(u.newText !== undefined ? { newText: u.newText } : {}),
          editedAt: u.at,
        });
        break;
      case 'revoke': {
        // An admin's revoke names the member whose message it was; one's own revoke names nobody else.
        const author = u.isGroup && u.target.participant && u.target.participant !== u.participant ? u.target.participant : undefined;
        await events.message('message_revoked', subject, { messageId: u.target.id, revokeId: u.id, ...who, ...(author ? { author } : {}), revokedAt: u.at });
        break;
      }
    }
    // Only now, the event safe at the broker, may WhatsApp drop the update.
    u.acknowledge();
    this.seen.set(seenKey, true);
    this.deps.history?.append(host.id, {
      direction: 'in',
      messageId: u.id,
      at: u.at,
      chat: u.chat,
      type: u.kind,
      from: u.from,
      ...(u.participant ? { participant: u.participant } : {}),
      ...(u.kind === 'reaction' ? { text: u.emoji } : u.kind === 'edit' && u.newText !== undefined ? { text: u.newText } : {}),
      replyTo: u.target.id,
    });
  }
}
