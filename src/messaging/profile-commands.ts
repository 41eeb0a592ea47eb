import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type {
  BlockCommand,
  GetProfileCommand,
  MediaSource,
  ProfileChanges,
  ProfileCommand,
  SubscribePresenceCommand,
  UpdateProfileCommand,
} from '../commands/command.js';
import { pictureRefusal } from '../commands/parse-profile-commands.js';
import type { Events, MessageSubject } from '../events/event-publisher.js';
import { describeError, isWorkerError } from '../util/errors.js';
import type { ContactPresence, WhatsAppConnection } from '../whatsapp/types.js';
import { answerCommand, type CommandFailure } from './answer-command.js';
import { MEDIA_URL_UNAVAILABLE, mediaContent, SendFailure, type OutgoingMediaDeps } from './outgoing-content.js';
import { PresenceRelay, type PresenceRelayOptions } from './presence-relay.js';
import type { MessagingHost } from './session-messaging.js';

export interface ProfileDeps extends OutgoingMediaDeps {
  /** How long a command waits for a (re)connecting session to open. */
  sendWaitForOpenMs: number;
  presence?: PresenceRelayOptions | undefined;
}

type Defer = ((confirmed: Promise<unknown>) => void) | undefined;
type ProfileField = 'name' | 'about' | 'picture' | 'removePicture';

/**
 * The fields of an update_profile, in the order they are applied: the picture first (the one a
 * bad input makes fail, when it cannot be decoded: then nothing changed), the about, then the
 * name (app state, the slowest).
 */
const fieldsOf = (changes: ProfileChanges): ProfileField[] =>
  (['picture', 'removePicture', 'about', 'name'] as const).filter((field) => changes[field] !== undefined);

/**
 * A session's contacts' presence and profiles, its own profile and its block list: the commands
 * subscribe_presence, get_profile, update_profile, block and unblock (each answered by its event,
 * see `answerCommand`; nothing is remembered: a redelivery does it and answers again, which is
 * harmless for each), and the presence updates of subscribed contacts (see PresenceRelay).
 */
export class ProfileCommands {
  private readonly relay: PresenceRelay;

  constructor(
    private readonly host: MessagingHost,
    private readonly events: Events,
    private readonly deps: ProfileDeps,
    private readonly log: Logger,
  ) {
    this.relay = new PresenceRelay((update) => this.publishPresence(update), deps.presence);
  }

  run(cmd: ProfileCommand, defer?: Defer): Promise<void> {
    switch (cmd.action) {
      case 'subscribe_presence':
        return this.subscribePresence(cmd, defer);
      case 'get_profile':
        return this.getProfile(cmd, defer);
      case 'update_profile':
        return this.updateProfile(cmd, defer);
      case 'block':
      case 'unblock':
        return this.setBlocked(cmd, defer);
    }
  }

  /** Presence and chat states WhatsApp pushed for subscribed contacts. */
  onPresence(updates: readonly ContactPresence[]): void {
    for (const update of updates) this.relay.offer(update);
  }

  /** The session's socket closed for good (shutdown, delete): presence still waiting is dropped. */
  stop(): void {
    this.relay.stop();
  }

  private subscribePresence(cmd: SubscribePresenceCommand, defer: Defer): Promise<void> {
    const { chat, jid } = cmd;
    return this.answer(
      cmd,
      'the presence subscription',
      (conn) => conn.subscribePresence(jid),
      (subject) => this.events.message('presence_subscribed', subject, { chat, jid }),
      (subject, failure) => this.events.message('presence_subscribe_failed', subject, { chat, jid, ...failure }),
      defer,
    );
  }

  private getProfile(cmd: GetProfileCommand, defer: Defer): Promise<void> {
    const { chat, jid } = cmd;
    return this.answer(
      cmd,
      'the profile query',
      (conn) => conn.fetchProfile(jid),
      (subject, profile) => this.events.message('profile_fetched', subject, { chat, jid, ...profile }),
      (subject, failure) => this.events.message('profile_fetch_failed', subject, { chat, jid, ...failure }),
      defer,
    );
  }

  private updateProfile(cmd: UpdateProfileCommand, defer: Defer): Promise<void> {
    const { changes } = cmd;
    const requested = fieldsOf(changes);
    const updated: ProfileField[] = [];
    let failed: ProfileField | undefined;
    const step = async (field: ProfileField, act: () => Promise<void>) => {
      failed = field;
      await act();
      updated.push(field);
      failed = undefined;
    };
    return this.answer(
      cmd,
      'the profile update',
      async (conn) => {
        // Fetched and checked before anything changes: a picture that cannot be had leaves the profile as it was.
        failed = changes.picture ? 'picture' : undefined;
        const picture = changes.picture ? await this.pictureBytes(changes) : undefined;
        failed = undefined;
        if (picture) await step('picture', () => this.setPicture(conn, picture));
        if (changes.removePicture) await step('removePicture', () => conn.setProfilePicture(undefined));
        if (changes.about !== undefined) await step('about', () => conn.setProfileAbout(changes.about!));
        if (changes.name !== undefined) await step('name', () => conn.setProfileName(changes.name!));
      },
      (subject) => this.events.message('profile_updated', subject, { updated }),
      (subject, failure) => this.events.message('profile_update_failed', subject, { requested, updated, ...(failed ? { failed } : {}), ...failure }),
      defer,
    );
  }

  private setBlocked(cmd: BlockCommand, defer: Defer): Promise<void> {
    const { chat, jid } = cmd;
    const blocked = cmd.action === 'block';
    return this.answer(
      cmd,
      blocked ? 'the block' : 'the unblock',
      (conn) => conn.setBlocked(jid, blocked),
      (subject) => this.events.message('block_status_changed', subject, { chat, jid, blocked }),
      (subject, failure) => this.events.message('block_status_failed', subject, { chat, jid, blocked, ...failure }),
      defer,
    );
  }

  private pictureBytes(changes: ProfileChanges): Promise<Buffer> {
    return pictureBytes(changes.picture!, this.deps, this.host.id);
  }

  private async setPicture(conn: WhatsAppConnection, picture: Buffer): Promise<void> {
    await conn.setProfilePicture(picture).catch((err: unknown) => {
      if (isWorkerError(err, 'INVALID_MEDIA')) throw new SendFailure('INVALID_MEDIA', err.message);
      throw err;
    });
  }

  private publishPresence(update: ContactPresence): void {
    const subject = { numberId: this.host.numberId, sessionId: this.host.id };
    const { chat, from, presence, lastSeen } = update;
    this.events
      .message('presence_update', subject, { chat, from, presence, ...(lastSeen ? { lastSeen } : {}) })
      .catch((err: unknown) => this.log.warn({ err, chat }, 'presence_update not published (ephemeral: not retried)'));
  }

  private answer<T>(
    cmd: { requestId: string; action: string },
    what: string,
    act: (conn: WhatsAppConnection) => Promise<T>,
    done: (subject: MessageSubject, result: T) => Promise<unknown>,
    failed: (subject: MessageSubject, failure: CommandFailure) => Promise<unknown>,
    defer: Defer,
  ): Promise<void> {
    return answerCommand({ host: this.host, sendWaitForOpenMs: this.deps.sendWaitForOpenMs, log: this.log }, cmd, what, act, done, failed, defer);
  }
}

/**
 * A profile command's failure event for a session this worker does not know (UNKNOWN_SESSION,
 * published by the session manager): the same event the session would answer with.
 */
export function answerProfileFailure(events: Events, cmd: ProfileCommand, subject: MessageSubject, failure: CommandFailure): Promise<unknown> {
  switch (cmd.action) {
    case 'subscribe_presence':
      return events.message('presence_subscribe_failed', subject, { chat: cmd.chat, jid: cmd.jid, ...failure });
    case 'get_profile':
      return events.message('profile_fetch_failed', subject, { chat: cmd.chat, jid: cmd.jid, ...failure });
    case 'update_profile':
      return events.message('profile_update_failed', subject, { requested: fieldsOf(cmd.changes), updated: [], ...failure });
    case 'block':
    case 'unblock':
      return events.message('block_status_failed', subject, { chat: cmd.chat, jid: cmd.jid, blocked: cmd.action === 'block', ...failure });
  }
}

/** A picture's bytes, from its source (send_message's media rules: address policy, MEDIA_MAX_BYTES, own mediaKeys only), checked to be a JPEG/PNG. */
export async function pictureBytes(source: MediaSource, deps: OutgoingMediaDeps, sessionId: string): Promise<Buffer> {
  const content = await mediaContent(
    { type: 'image', media: source, mimeType: undefined, caption: undefined, fileName: undefined, ptt: false },
    deps,
    sessionId,
  );
  if ('url' in content.media) throw new SendFailure('INVALID_MEDIA', 'the picture is not a file');
  const bytes = 'buffer' in content.media ? content.media.buffer : await readAll(content.media.stream, deps.mediaMaxBytes);
  const refusal = pictureRefusal(bytes);
  if (refusal) throw new SendFailure('INVALID_MEDIA', `picture: ${refusal}`);
  return bytes;
}

/** A picture stream read whole, at most `max` bytes; a source failing midway is MEDIA_UNAVAILABLE (its detail logged by the caller's failure). */
async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        stream.destroy();
        throw new SendFailure('MEDIA_TOO_LARGE', `the picture is larger than MEDIA_MAX_BYTES (${max})`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SendFailure) throw err;
    if (isWorkerError(err, 'MEDIA_TOO_LARGE')) throw new SendFailure('MEDIA_TOO_LARGE', err.message);
    if (isWorkerError(err, 'MEDIA_UNAVAILABLE')) throw new SendFailure('MEDIA_UNAVAILABLE', MEDIA_URL_UNAVAILABLE, describeError(err.cause ?? err));
    throw new SendFailure('MEDIA_UNAVAILABLE', 'the picture could not be read', describeError(err));
  }
  return Buffer.concat(chunks);
}
