import { jidDecode, USyncQuery, USyncUser, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import type { Readable } from 'node:stream';
import { mediaRefOf } from './incoming-message.js';
import { downloadMedia, MediaGoneError, type MediaDownloadOptions } from './media-download.js';
import type { NumberCheck } from './types.js';

// Queries the connector makes on a live socket, translated (no decisions here).

export /** The decrypted file of a received media message; asks the phone to upload it again once when the host says it is gone. */
async function openMedia(sock: WASocket, msg: WAMessage, opts: MediaDownloadOptions): Promise<Readable> {
  const ref = mediaRefOf(msg.message);
  if (!ref) throw new Error('not a media message');
  try {
    return await downloadMedia(ref, opts);
  } catch (err) {
    if (!(err instanceof MediaGoneError)) throw err;
    const refreshed = mediaRefOf((await sock.updateMediaMessage(msg)).message);
    if (!refreshed) throw err;
    return downloadMedia(refreshed, opts);
  }
}

/** The LID Baileys has learnt for a phone-number JID, if any. */
export async function lidOf(sock: WASocket, phoneJid: string): Promise<string | undefined> {
  const lid = await sock.signalRepository.lidMapping.getLIDForPN(phoneJid);
  return lid ? `${userOf(lid)}@lid` : undefined;
}

/**
 * Several phone-number JIDs in one usync query: the query `sock.onWhatsApp(...jids)` sends (the
 * contact protocol, one user per phone), with the LID protocol beside it, since rc14's
 * `onWhatsApp` drops the LID WhatsApp answers with. Translation only: answers are matched to
 * the JIDs asked by their user part; one WhatsApp leaves out is not registered.
 */
export async function checkNumbers(sock: WASocket, phoneJids: readonly string[]): Promise<NumberCheck[]> {
  if (phoneJids.length === 0) return [];
  const query = new USyncQuery().withContactProtocol().withLIDProtocol();
  for (const jid of phoneJids) query.withUser(new USyncUser().withPhone(`+${userOf(jid)}`));
  const result = await sock.executeUSyncQuery(query);
  // No result at all is no answer (not "nobody is registered"): the caller reports a failure.
  if (!result) throw new Error('WhatsApp gave no usync result');
  const byUser = new Map<string, { exists: boolean; lid?: string }>();
  for (const entry of result.list) {
    const lid = typeof entry.lid === 'string' && entry.lid.endsWith('@lid') ? entry.lid : undefined;
    byUser.set(userOf(entry.id), { exists: entry.contact === true, ...(lid ? { lid } : {}) });
  }
  return phoneJids.map((jid) => {
    const found = byUser.get(userOf(jid));
    return { jid, exists: found?.exists ?? false, ...(found?.exists && found.lid ? { lid: found.lid } : {}) };
  });
}

/** The user part of a JID, without device: `221770000001:3@s.whatsapp.net` → `221770000001`. */
const userOf = (jid: string): string => jidDecode(jid)?.user ?? '';
