import { SESSION_ACTIONS, type Command, type SessionCommand } from '../commands/command.js';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import { answerProfileFailure } from '../messaging/profile-commands.js';
import { answerGroupFailure } from '../messaging/group-commands.js';
import { markReadAsked } from '../messaging/read-receipts.js';
import type { Session } from './session.js';

/** Every command answered by an event of its own (each carries a `requestId`): all but the session lifecycle ones. */
export type AnsweredCommand = Exclude<Command, SessionCommand>;

/** Publishes a command's own failure event (`message_failed`, `numbers_check_failed`, …). */
export type FailureAnswer = (subject: MessageSubject, failure: { code: string; reason: string }) => Promise<unknown>;

const SESSION_ACTION_SET: ReadonlySet<string> = new Set(SESSION_ACTIONS);

export function isAnsweredCommand(cmd: Command): cmd is AnsweredCommand {
  return !SESSION_ACTION_SET.has(cmd.action);
}

/** How `cmd` is answered when its session is unknown here: its own failure event, never a rejection. */
export function unknownSessionAnswer(events: Events, cmd: AnsweredCommand): FailureAnswer {
  switch (cmd.action) {
    case 'send_message':
      return (subject, failure) => events.message('message_failed', subject, { to: cmd.to, ...failure });
    case 'check_numbers':
      return (subject, failure) => events.message('numbers_check_failed', subject, { phones: cmd.phones, ...failure });
    case 'mark_read':
      return (subject, failure) => events.message('mark_read_failed', subject, { ...markReadAsked(cmd), ...failure });
    case 'send_presence':
      return (subject, failure) => events.message('presence_failed', subject, { state: cmd.state, ...(cmd.chat ? { chat: cmd.chat } : {}), ...failure });
    case 'reject_call':
      return (subject, failure) => events.message('call_reject_failed', subject, { callId: cmd.callId, from: cmd.from, ...failure });
    case 'update_settings':
      return (subject, failure) => events.message('settings_update_failed', subject, failure);
    case 'edit_message':
      return (subject, failure) => events.message('message_edit_failed', subject, { chat: cmd.chat, messageId: cmd.messageId, ...failure });
    case 'delete_message':
      return (subject, failure) => events.message('message_delete_failed', subject, { chat: cmd.chat, messageId: cmd.messageId, ...failure });
    case 'subscribe_presence':
    case 'get_profile':
    case 'update_profile':
    case 'block':
    case 'unblock':
      return (subject, failure) => answerProfileFailure(events, cmd, subject, failure);
    default:
      return (subject, failure) => answerGroupFailure(events, cmd, subject, failure);
  }
}

/** Hands `cmd` to its session (a session only stored, not running here, still takes `update_settings`). */
export function runAnswered(session: Session, cmd: AnsweredCommand, defer: (confirmed: Promise<unknown>) => void): Promise<void> {
  switch (cmd.action) {
    case 'send_message':
      return session.send(cmd, defer);
    case 'check_numbers':
      return session.checkNumbers(cmd, defer);
    case 'mark_read':
      return session.markRead(cmd, defer);
    case 'send_presence':
      return session.sendPresence(cmd, defer);
    case 'reject_call':
      return session.rejectCall(cmd, defer);
    case 'update_settings':
      return session.updateSettings(cmd, defer);
    case 'edit_message':
      return session.editMessage(cmd, defer);
    case 'delete_message':
      return session.deleteMessage(cmd, defer);
    case 'subscribe_presence':
    case 'get_profile':
    case 'update_profile':
    case 'block':
    case 'unblock':
      return session.profileCommand(cmd, defer);
    default:
      return session.groupCommand(cmd, defer);
  }
}
