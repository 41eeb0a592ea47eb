import { decryptPollVote, jidNormalizedUser, toNumber, type proto } from '@whiskeysockets/baileys';
import type { IncomingMessage, IncomingPollVote } from './types.js';

/**
 * The received kinds that carry structured fields: locations, contact cards, polls and poll
 * votes. What a sender put in them is hostile: every string and list is bounded, numbers must
 * be finite, and what does not fit is cut or left out (never refused: the message still is one).
 */
export const INCOMING_TEXT_MAX = 1024;
export const INCOMING_VCARD_MAX = 16 * 1024;
export const INCOMING_CONTACTS_MAX = 20;
export const INCOMING_POLL_OPTIONS_MAX = 32;

const bounded = (s: string | null | undefined, max = INCOMING_TEXT_MAX): string | undefined => (s ? s.slice(0, max) : undefined);
const finite = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
};

export function locationOf(loc: proto.Message.ILocationMessage | proto.Message.ILiveLocationMessage): IncomingMessage['location'] {
  const latitude = finite(loc.degreesLatitude);
  const longitude = finite(loc.degreesLongitude);
  if (latitude === undefined || longitude === undefined || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const name = 'name' in loc ? bounded(loc.name) : undefined;
  const address = 'address' in loc ? bounded(loc.address) : undefined;
  return { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
}

/** The cards of a contactMessage or contactsArrayMessage; a card whose vCard is missing or too large is left out. */
export function contactsOf(content: proto.IMessage): NonNullable<IncomingMessage['contacts']> {
  const cards = content.contactMessage ? [content.contactMessage] : (content.contactsArrayMessage?.contacts ?? []);
  const out: NonNullable<IncomingMessage['contacts']> = [];
  for (const card of cards.slice(0, INCOMING_CONTACTS_MAX)) {
    if (!card.vcard || card.vcard.length > INCOMING_VCARD_MAX) continue;
    const displayName = bounded(card.displayName, 256);
    out.push({ ...(displayName ? { displayName } : {}), vcard: card.vcard });
  }
  return out;
}

export function pollOf(poll: proto.Message.IPollCreationMessage): NonNullable<IncomingMessage['poll']> {
  const options = (poll.options ?? [])
    .slice(0, INCOMING_POLL_OPTIONS_MAX)
    .map((o) => bounded(o.optionName, 256) ?? '')
    .filter((o) => o !== '');
  const count = finite(poll.selectableOptionsCount) ?? 0;
  return { name: bounded(poll.name) ?? '', options, selectableCount: count >= 0 && count <= options.length ? Math.floor(count) : 0 };
}

/**
 * A `pollUpdateMessage` → the vote, still encrypted. The key derivation binds the poll creator's
 * and the voter's JIDs as the voter's client spelt them, which WhatsApp does not tell: PN or LID.
 * So every combination of ours (PN, LID) and theirs is tried; AES-GCM authenticates, so only the
 * right one decrypts (Baileys rc14 left this decryption to the app: `decryptPollVote`).
 */
export function pollVoteOf(
  update: proto.Message.IPollUpdateMessage,
  voter: readonly (string | null | undefined)[],
  me: readonly (string | null | undefined)[],
  sentAt: number,
): IncomingPollVote | undefined {
  const target = update.pollCreationMessageKey;
  const vote = update.vote;
  // Not filtered on `fromMe`: whose poll it is, is settled by the session finding its secret.
  if (!target?.id || !target.remoteJid || !vote?.encPayload || !vote.encIv) return undefined;
  const pollMsgId = target.id;
  const voters = distinctJids(voter);
  const creators = distinctJids(me);
  const votedAt =
    finite(update.senderTimestampMs !== undefined && update.senderTimestampMs !== null ? toNumber(update.senderTimestampMs) : undefined) ?? sentAt;
  const encrypted = { encPayload: vote.encPayload, encIv: vote.encIv };
  return {
    pollMessageId: pollMsgId,
    pollChat: target.remoteJid,
    votedAt,
    decrypt: (pollEncKey: Buffer) => {
      for (const pollCreatorJid of creators) {
        for (const voterJid of voters) {
          try {
            const plain = decryptPollVote(encrypted, { pollCreatorJid, pollMsgId, pollEncKey, voterJid });
            return (plain.selectedOptions ?? []).slice(0, INCOMING_POLL_OPTIONS_MAX).map((h) => Buffer.from(h));
          } catch {
            // not this combination
          }
        }
      }
      return undefined;
    },
  };
}

function distinctJids(jids: readonly (string | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const jid of jids) {
    if (!jid) continue;
    const normal = jidNormalizedUser(jid);
    if (normal && !out.includes(normal)) out.push(normal);
  }
  return out;
}
