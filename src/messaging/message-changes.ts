import type { Logger } from 'pino';
import type { DeleteMessageCommand, EditMessageCommand } from '../commands/command.js';
import type { Events, MessagePayload } from '../events/event-publisher.js';
import { answerCommand } from './answer-command.js';
import { Lru } from './lru.js';
import type { MessageHistory } from './message-history.js';
import { deriveMessageId } from './message-id.js';
import { SendFailure } from './outgoing-content.js';
import type { MessagingHost } from './messaging-host.js';

/** WhatsApp lets a sender edit a text message for 15 minutes after sending it. */
export const EDIT_WINDOW_MS = 15 * 60_000;
/** …and revoke a message for everyone for about 2 days and 12 hours (60 hours). */
export const REVOKE_WINDOW_MS = 60 * 60 * 60_000;

/** What the session remembers of a recent message, to refuse what certainly cannot be edited or revoked. */
export interface KnownMessage {
  fromMe: boolean;
  /** The message type (`text`, `image`…), when remembered. */
  type?: string;
  /** When it was sent, epoch ms, when remembered. */
  at?: number;
}

export interface MessageChangesDeps {
  host: MessagingHost;
  events: Events;
  sendWaitForOpenMs: number;
  log: Logger;
  history?: MessageHistory | undefined;
  /** How many done requestIds, and recent messages, are remembered (a redelivery within them re-publishes instead of acting again). */
  capacity: number;
  now?: () => number;
}

/**
 * `edit_message` and `delete_message`: an edit or a revoke is a message of its own, whose id is
 * derived from (sessionId, action, requestId), so every attempt of one command is the same
 * message to WhatsApp (a resend after a crash is a duplicate there, never a second edit); a
 * redelivered command the session remembers re-publishes its answer without sending. What the
 * session knows cannot be done (a message it received, not a text, past WhatsApp's window) is
 * answered NOT_EDITABLE / NOT_DELETABLE without asking WhatsApp; anything else WhatsApp decides.
 */
export class MessageChanges {
  private readonly edited: Lru<string, MessagePayload<'message_edit_sent'>>;
  private readonly deleted: Lru<string, MessagePayload<'message_deleted'>>;
  /** Recent messages by id (sent and received); one the session no longer remembers is left to WhatsApp to judge. */
  private readonly known: Lru<string, KnownMessage>;
  private readonly now: () => number;

  constructor(private readonly deps: MessageChangesDeps) {
    this.edited = new Lru(deps.capacity);
    this.deleted = new Lru(deps.capacity);
    this.known = new Lru(deps.capacity);
    this.now = deps.now ?? Date.now;
  }

  /**
   * A message the session sent or received (SessionMessaging tells each one). Ids are chosen by
   * senders: a received message reusing the id of one we sent must not make ours uneditable.
   */
  remember(messageId: string, message: KnownMessage): void {
    if (!message.fromMe && this.known.get(messageId)?.fromMe) return;
    this.known.set(messageId, message);
  }

  async edit(cmd: EditMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const { host, events, log } = this.deps;
    const already = this.edited.get(cmd.requestId);
    if (already) {
      log.info({ requestId: cmd.requestId, editId: already.editId }, 'edit_message already done: re-publishing message_edit_sent');
      await events.message('message_edit_sent', { numberId: host.numberId, sessionId: host.id, requestId: cmd.requestId }, already);
      return;
    }
    const editId = deriveMessageId(host.id, `edit_message\0${cmd.requestId}`);
    const { chat, chatJid, messageId, text } = cmd;
    return answerCommand(
      this.context(),
      cmd,
      'the edit',
      (conn) => {
        const refusal = this.editRefusal(messageId);
        if (refusal) throw new SendFailure('NOT_EDITABLE', refusal);
        return conn.editMessage(chatJid, messageId, text, { editId });
      },
      (subject, { sentAt }) => {
        const payload = { chat, chatJid, messageId, editId, text, editedAt: sentAt };
        this.edited.set(cmd.requestId, payload);
        this.deps.history?.append(host.id, {
          direction: 'out',
          messageId: editId,
          at: sentAt,
          chat: chatJid,
          type: 'edit',
          requestId: cmd.requestId,
          text,
          replyTo: messageId,
        });
        return events.message('message_edit_sent', subject, payload);
      },
      (subject, failure) => events.message('message_edit_failed', subject, { chat, messageId, ...failure }),
      defer,
    );
  }

  async delete(cmd: DeleteMessageCommand, defer?: (confirmed: Promise<unknown>) => void): Promise<void> {
    const { host, events, log } = this.deps;
    const already = this.deleted.get(cmd.requestId);
    if (already) {
      log.info({ requestId: cmd.requestId, revokeId: already.revokeId }, 'delete_message already done: re-publishing message_deleted');
      await events.message('message_deleted', { numberId: host.numberId, sessionId: host.id, requestId: cmd.requestId }, already);
      return;
    }
    const revokeId = deriveMessageId(host.id, `delete_message\0${cmd.requestId}`);
    const { chat, chatJid, messageId, fromMe, participant } = cmd;
    return answerCommand(
      this.context(),
      cmd,
      'the revoke',
      (conn) => {
        const refusal = this.deleteRefusal(messageId, fromMe);
        if (refusal) throw new SendFailure('NOT_DELETABLE', refusal);
        return conn.deleteMessage(chatJid, { id: messageId, fromMe, ...(participant ? { participant } : {}) }, { revokeId });
      },
      (subject, { sentAt }) => {
        const payload = { chat, chatJid, messageId, fromMe, ...(participant ? { participant } : {}), revokeId, deletedAt: sentAt };
        this.deleted.set(cmd.requestId, payload);
        this.deps.history?.append(host.id, {
          direction: 'out',
          messageId: revokeId,
          at: sentAt,
          chat: chatJid,
          type: 'revoke',
          requestId: cmd.requestId,
          replyTo: messageId,
        });
        return events.message('message_deleted', subject, payload);
      },
      (subject, failure) => events.message('message_delete_failed', subject, { chat, messageId, ...failure }),
      defer,
    );
  }

  /** Why the message certainly cannot be edited, as far as the session remembers it; undefined when it may be (or is unknown). */
  private editRefusal(messageId: string): string | undefined {
    const known = this.known.get(messageId);
    if (!known) return undefined;
    if (!known.fromMe) return `message ${messageId} was not sent by this session: WhatsApp only lets the sender edit a message`;
    if (known.type !== undefined && known.type !== 'text') return `message ${messageId} is a ${known.type} message: only text messages can be edited`;
    if (known.at !== undefined && this.now() - known.at > EDIT_WINDOW_MS) {
      return `message ${messageId} was sent more than 15 minutes ago: WhatsApp no longer accepts edits of it`;
    }
    return undefined;
  }

  /** Why the message certainly cannot be revoked as asked; undefined when it may be (or is unknown). */
  private deleteRefusal(messageId: string, fromMe: boolean): string | undefined {
    const known = this.known.get(messageId);
    if (!known) return undefined;
    if (fromMe && !known.fromMe) {
      return `message ${messageId} was received, not sent by this session: revoke a member's message in a group with "fromMe": false and "participant"`;
    }
    if (!fromMe && known.fromMe) return `message ${messageId} was sent by this session: revoke it with "fromMe": true`;
    if (known.at !== undefined && this.now() - known.at > REVOKE_WINDOW_MS) {
      return `message ${messageId} was sent more than 60 hours ago: WhatsApp no longer lets it be revoked for everyone`;
    }
    return undefined;
  }

  private context() {
    return { host: this.deps.host, sendWaitForOpenMs: this.deps.sendWaitForOpenMs, log: this.deps.log };
  }
}
