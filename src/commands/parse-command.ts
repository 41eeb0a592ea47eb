import type { ZodError } from 'zod';
import type { ErrorCode } from '../util/errors.js';
import { COMMAND_ACTIONS, type Command } from './command.js';
import { decodeCommandBody } from './command-body-guard.js';
import { salvageHint, type CommandHint } from './command-hint.js';
import { commandMessageSchema } from './command-schema.js';
import { readTimestamp, staleness } from './command-timestamp.js';
import { DEFAULT_CHECK_NUMBERS_MAX_BATCH, DEFAULT_MAX_MEDIA_BYTES, type ParseLimits } from './parse-limits.js';
import { normalisePhone, parseSessionId, sessionIdFor } from './session-identity.js';
import { EVENT_ACTIONS, MESSAGE_EVENT_ACTIONS } from '../events/catalogue.js';
import { parseOutgoingMessage } from './parse-send-message.js';
import { parseCheckNumbers } from './parse-check-numbers.js';
import { parseMarkRead } from './parse-mark-read.js';
import { parseSendPresence } from './parse-send-presence.js';
import { parseRejectCall } from './parse-reject-call.js';
import { parseSettingsUpdate, settingsProxyRefusal } from './parse-settings.js';
import { isProfileAction, parseProfileCommand, PROFILE_ANSWERED_BY } from './parse-profile-commands.js';
import { parseDeleteMessage, parseEditMessage } from './parse-edit-delete.js';
import { GROUP_ANSWERED_BY, isGroupAction, parseGroupCommand } from './parse-group-commands.js';

/** The event that answers each command whose answer carries its requestId. */
const ANSWERED_BY = {
  check_numbers: 'numbers_checked',
  mark_read: 'messages_read',
  send_presence: 'presence_sent',
  reject_call: 'call_rejected',
  update_settings: 'settings_updated',
  edit_message: 'message_edit_sent',
  delete_message: 'message_deleted',
  ...PROFILE_ANSWERED_BY,
  ...GROUP_ANSWERED_BY,
} as const;

const isAnswered = (action: string): action is keyof typeof ANSWERED_BY => Object.hasOwn(ANSWERED_BY, action);

export type { CommandHint } from './command-hint.js';
export type { ParseLimits } from './parse-limits.js';

/** What we know of an AMQP message besides its body. */
export interface MessageMeta {
  contentType?: string | undefined;
  correlationId?: string | undefined;
}

export type ParseResult = { ok: true; command: Command } | { ok: false; code: ErrorCode; reason: string; hint: CommandHint };

const fail = (code: ErrorCode, reason: string, hint: CommandHint = {}): ParseResult => ({ ok: false, code, reason, hint });

/**
 * Body bytes → a normalised command, or the precise reason it is not one. Never throws.
 * The body goes through bounded guards first (size, Java serialization, depth, forbidden keys:
 * `decodeCommandBody`); then the fields are read, from the top level or from `data`, and the
 * timestamp is judged (`staleness`).
 */
export function parseCommand(body: Buffer, meta: MessageMeta, limits: ParseLimits): ParseResult {
  const maxMediaBytes = limits.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES;
  const decoded = decodeCommandBody(body, meta.contentType, limits, maxMediaBytes);
  if (!decoded.ok) {
    const { value } = decoded;
    const hint = typeof value === 'object' && value !== null && !Array.isArray(value) ? salvageHint(value as Record<string, unknown>, meta.correlationId) : {};
    return fail(decoded.code, decoded.reason, hint);
  }
  const value = decoded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('INVALID_COMMAND', 'payload must be a JSON object');
  }

  const hint = salvageHint(value as Record<string, unknown>, meta.correlationId);
  const action = hint.action;
  if (typeof action !== 'string') return fail('INVALID_COMMAND', 'missing "action"', hint);
  if (!(COMMAND_ACTIONS as readonly string[]).includes(action)) {
    if ((EVENT_ACTIONS as readonly string[]).includes(action) || (MESSAGE_EVENT_ACTIONS as readonly string[]).includes(action)) {
      return fail('MISROUTED_EVENT', `"${action}" is an event, not a command: the events queue must not be the command queue`, hint);
    }
    return fail('UNKNOWN_ACTION', `unknown action "${action.slice(0, 64)}"; expected one of ${COMMAND_ACTIONS.join(', ')}`, hint);
  }

  const parsed = commandMessageSchema.safeParse(value);
  if (!parsed.success) return fail('INVALID_COMMAND', describeZodError(parsed.error), hint);
  const msg = parsed.data;
  const data = msg.data ?? {};
  const pick = <K extends 'numberId' | 'phoneNumber' | 'workerId' | 'requestId' | 'timestamp'>(k: K) => data[k] ?? msg[k];

  // `sessionId` is overloaded by the backend: a number at the top level is the numberId; a
  // string is either our `session_<numberId>_<phone>` or the backend's own reference.
  const sessionRefs = [data.sessionId, msg.sessionId];
  const ours = sessionRefs.find((s): s is string => typeof s === 'string' && parseSessionId(s) !== undefined);
  const fromOurs = ours ? parseSessionId(ours) : undefined;
  const backendSessionId = sessionRefs.find((s): s is string => typeof s === 'string' && s !== ours);
  const numericSession = sessionRefs.find((s): s is number => typeof s === 'number');

  const numberId = pick('numberId') ?? fromOurs?.numberId ?? numericSession;
  if (numberId === undefined) return fail('INVALID_COMMAND', 'missing "numberId" (top level or in "data")', hint);

  let phoneNumber: string | undefined;
  const rawPhone = pick('phoneNumber');
  try {
    phoneNumber = rawPhone !== undefined ? normalisePhone(rawPhone) : fromOurs?.phoneNumber;
  } catch (err) {
    return fail('INVALID_PHONE', (err as Error).message, { ...hint, numberId });
  }
  if (fromOurs && fromOurs.numberId !== numberId) {
    return fail('INVALID_COMMAND', `sessionId "${ours}" does not belong to numberId ${numberId}`, hint);
  }
  if (!phoneNumber && (msg.action === 'create' || msg.action === 'request_pairing_code')) {
    return fail('INVALID_COMMAND', `"${msg.action}" needs "phoneNumber"`, { ...hint, numberId });
  }

  const timestamp = readTimestamp(pick('timestamp'));
  const base = {
    numberId,
    phoneNumber,
    sessionId: phoneNumber ? sessionIdFor(numberId, phoneNumber) : undefined,
    workerId: pick('workerId'),
    requestId: pick('requestId') ?? meta.correlationId,
    backendSessionId,
    issuedAt: timestamp?.at,
  };
  if (timestamp?.checkable) {
    const stale = staleness(timestamp.at, limits);
    if (stale) {
      return fail('STALE', stale, {
        ...hint,
        numberId,
        ...(base.sessionId ? { sessionId: base.sessionId } : {}),
        ...(base.requestId ? { requestId: base.requestId } : {}),
      });
    }
  }
  if (msg.action === 'send_message') {
    const fullHint = { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}) };
    if (!base.requestId) {
      return fail(
        'INVALID_COMMAND',
        '"send_message" needs "requestId" (or an AMQP correlation_id): it is what keeps a redelivered send from being sent twice',
        fullHint,
      );
    }
    const out = parseOutgoingMessage({ ...msg, ...data }, { maxMediaBytes });
    if (!out.ok) return fail(out.code, out.reason, fullHint);
    return { ok: true, command: { ...base, action: 'send_message', requestId: base.requestId, ...out.value } };
  }
  if (isAnswered(msg.action)) {
    const action = msg.action;
    const fullHint = { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}) };
    if (!base.requestId) {
      return fail('INVALID_COMMAND', `"${action}" needs "requestId" (or an AMQP correlation_id): its answer, ${ANSWERED_BY[action]}, carries it`, fullHint);
    }
    const requestId = base.requestId;
    const chat = data.chat ?? msg.chat;
    if (isProfileAction(action)) {
      const fields = { chat, name: data.name ?? msg.name, about: data.about ?? msg.about, picture: data.picture ?? msg.picture };
      const part = parseProfileCommand(action, { ...fields, removePicture: data.removePicture ?? msg.removePicture }, { maxMediaBytes });
      if (!part.ok) return fail(part.code, part.reason, fullHint);
      return { ok: true, command: { ...base, requestId, ...part.value } };
    }
    if (isGroupAction(action)) {
      const pick = <K extends keyof typeof data & keyof typeof msg>(k: K) => data[k] ?? msg[k];
      const fields = {
        group: pick('group'),
        subject: pick('subject'),
        description: pick('description'),
        participants: pick('participants'),
        operation: pick('operation'),
        announce: pick('announce'),
        locked: pick('locked'),
        ephemeral: pick('ephemeral'),
        revoke: pick('revoke'),
        code: pick('code'),
        picture: pick('picture'),
        removePicture: pick('removePicture'),
      };
      const part = parseGroupCommand(action, fields, { maxMediaBytes });
      if (!part.ok) return fail(part.code, part.reason, fullHint);
      return { ok: true, command: { ...base, requestId, ...part.value } };
    }
    if (action === 'reject_call') {
      const call = parseRejectCall({ callId: data.callId ?? msg.callId, from: data.from ?? msg.from });
      if (!call.ok) return fail(call.code, call.reason, fullHint);
      return { ok: true, command: { ...base, action, requestId, callId: call.callId, from: call.from } };
    }
    if (action === 'update_settings') {
      const update = parseSettingsUpdate(data.settings ?? msg.settings, limits.proxyPolicy);
      if (!update.ok) return fail(update.code, update.reason, fullHint);
      return { ok: true, command: { ...base, action, requestId, settings: update.settings } };
    }
    if (msg.action === 'check_numbers') {
      const checked = parseCheckNumbers(data.phones ?? msg.phones, { maxBatch: limits.maxCheckNumbers ?? DEFAULT_CHECK_NUMBERS_MAX_BATCH });
      if (!checked.ok) return fail(checked.code, checked.reason, fullHint);
      return { ok: true, command: { ...base, action: 'check_numbers', requestId, phones: checked.phones } };
    }
    if (msg.action === 'mark_read') {
      const read = parseMarkRead({
        chat,
        messageIds: data.messageIds ?? msg.messageIds,
        upTo: data.upTo ?? msg.upTo,
        participant: data.participant ?? msg.participant,
      });
      if (!read.ok) return fail(read.code, read.reason, fullHint);
      const { ok: _ok, ...fields } = read;
      return { ok: true, command: { ...base, action: 'mark_read', requestId, ...fields } };
    }
    if (msg.action === 'edit_message' || msg.action === 'delete_message') {
      const fields = {
        chat,
        messageId: data.messageId ?? msg.messageId,
        text: data.text ?? msg.text,
        fromMe: data.fromMe ?? msg.fromMe,
        participant: data.participant ?? msg.participant,
      };
      if (msg.action === 'edit_message') {
        const edit = parseEditMessage(fields);
        if (!edit.ok) return fail(edit.code, edit.reason, fullHint);
        const { chat: given, chatJid, messageId, text } = edit;
        return { ok: true, command: { ...base, action: 'edit_message', requestId, chat: given, chatJid, messageId, text } };
      }
      const del = parseDeleteMessage(fields);
      if (!del.ok) return fail(del.code, del.reason, fullHint);
      const { chat: given, chatJid, messageId, fromMe, participant } = del;
      return { ok: true, command: { ...base, action: 'delete_message', requestId, chat: given, chatJid, messageId, fromMe, participant } };
    }
    const presence = parseSendPresence({ state: data.state ?? msg.state, chat });
    if (!presence.ok) return fail(presence.code, presence.reason, fullHint);
    return { ok: true, command: { ...base, action: 'send_presence', requestId, state: presence.state, chat: presence.chat } };
  }
  const handoverTo = data.handoverTo ?? msg.handoverTo;
  // Only `create` stores settings; another session action carrying them is a mistake worth saying.
  const settings = data.settings ?? msg.settings;
  if (settings !== undefined && msg.action !== 'create') {
    return fail('INVALID_COMMAND', `"${msg.action}" takes no "settings" (create and update_settings do)`, { ...hint, numberId });
  }
  const proxyRefused = settings ? settingsProxyRefusal(settings, limits.proxyPolicy) : undefined;
  if (proxyRefused) return fail('INVALID_COMMAND', proxyRefused, { ...hint, numberId, ...(base.sessionId ? { sessionId: base.sessionId } : {}) });
  return {
    ok: true,
    command: { ...base, action: msg.action, ...(handoverTo !== undefined ? { handoverTo } : {}), ...(settings !== undefined ? { settings } : {}) },
  };
}

function describeZodError(err: ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
