/**
 * Poll votes as a WhatsApp client casts them (the scheme of Baileys' `decryptPollVote`, inverted):
 * the vote names the chosen options by the SHA-256 of their text, and is AES-256-GCM encrypted
 * with a key derived from the poll's `messageContextInfo.messageSecret`, bound to the poll's id,
 * its creator's JID and the voter's JID. Only the poll's recipients (who received the secret in
 * the poll message) can vote; only its creator and they can read the vote.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { normalizeMessageContent, proto } from '@whiskeysockets/baileys';
import type { ReceivedMessage } from './types.js';

export interface PollVoteInput {
  pollMessageId: string;
  /** The poll sender's JID, as the voter spells it (this emulator: the account's PN JID). */
  pollCreatorJid: string;
  /** The voter's own JID (this emulator: the contact's PN JID). */
  voterJid: string;
  /** The poll's `messageContextInfo.messageSecret`. */
  pollSecret: Uint8Array;
  /** Option texts; empty withdraws the vote. */
  selectedOptions: readonly string[];
}

export function encryptPollVote(v: PollVoteInput): { encPayload: Buffer; encIv: Buffer } {
  const sign = Buffer.concat([
    Buffer.from(v.pollMessageId),
    Buffer.from(v.pollCreatorJid),
    Buffer.from(v.voterJid),
    Buffer.from('Poll Vote'),
    Buffer.from([1]),
  ]);
  const key0 = createHmac('sha256', Buffer.alloc(32)).update(v.pollSecret).digest();
  const key = createHmac('sha256', key0).update(sign).digest();
  const plain = proto.Message.PollVoteMessage.encode({
    selectedOptions: v.selectedOptions.map((o) => createHash('sha256').update(o, 'utf8').digest()),
  }).finish();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${v.pollMessageId}\u0000${v.voterJid}`));
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { encPayload: body, encIv: iv };
}

/** The poll creation a contact received: its question, options and secret (throws if it is no poll). */
export function receivedPoll(m: ReceivedMessage): { name: string; options: string[]; selectableCount: number; secret: Uint8Array } {
  const content = normalizeMessageContent(m.message);
  const poll = content?.pollCreationMessage ?? content?.pollCreationMessageV2 ?? content?.pollCreationMessageV3;
  const secret = m.message.messageContextInfo?.messageSecret ?? content?.messageContextInfo?.messageSecret;
  if (!poll || !secret) throw new Error(`message ${m.id} is not a poll with a secret`);
  return { name: poll.name ?? '', options: (poll.options ?? []).map((o) => o.optionName ?? ''), selectableCount: poll.selectableOptionsCount ?? 0, secret };
}

/**
 * The `pollUpdateMessage` a contact sends to vote on `poll` (a poll it received from `accountPhone`).
 * The target key is from the voter's view: the chat is the account (or the group the poll was sent to), and the
 * poll is not the voter's.
 */
export function pollVoteMessage(poll: ReceivedMessage, voterPhone: string, selectedOptions: readonly string[]): proto.IMessage {
  const { secret } = receivedPoll(poll);
  const pollCreatorJid = `${poll.from}@s.whatsapp.net`;
  const vote = encryptPollVote({ pollMessageId: poll.id, pollCreatorJid, voterJid: `${voterPhone}@s.whatsapp.net`, pollSecret: secret, selectedOptions });
  return {
    pollUpdateMessage: {
      // in a group the chat is the group and the poll's sender its participant
      pollCreationMessageKey: poll.group
        ? { remoteJid: poll.group, fromMe: false, id: poll.id, participant: pollCreatorJid }
        : { remoteJid: pollCreatorJid, fromMe: false, id: poll.id },
      vote,
      senderTimestampMs: Date.now(),
    },
  };
}
