import type { AnyMessageContent } from '@whiskeysockets/baileys';
import type { OutgoingContent } from './types.js';

/**
 * Our outgoing content → Baileys' message content (`Utils/messages.js` `generateWAMessageContent`).
 * `mentions` become `contextInfo.mentionedJid` (Baileys sets it on the first content field:
 * right for text, media, location and contact cards; polls and reactions take none, parse-time).
 */
export function toBaileysContent(jid: string, content: OutgoingContent, mentions?: readonly string[]): AnyMessageContent {
  const mentioned = mentions?.length ? { mentions: [...mentions] } : {};
  switch (content.type) {
    case 'text':
      return { text: content.text, ...mentioned };
    case 'location':
      return {
        location: {
          degreesLatitude: content.latitude,
          degreesLongitude: content.longitude,
          ...(content.name ? { name: content.name } : {}),
          ...(content.address ? { address: content.address } : {}),
        },
        ...mentioned,
      };
    case 'contact': {
      const contacts = content.contacts.map((c) => ({ ...(c.displayName ? { displayName: c.displayName } : {}), vcard: c.vcard }));
      // One card → contactMessage (its displayName is the card's); several → contactsArrayMessage.
      const displayName = contacts.length === 1 ? contacts[0]?.displayName : `${contacts.length} contacts`;
      return { contacts: { ...(displayName ? { displayName } : {}), contacts }, ...mentioned };
    }
    case 'poll':
      // The secret is ours (kept to decrypt the votes), not one Baileys would draw and forget.
      return { poll: { name: content.name, values: content.options, selectableCount: content.selectableCount, messageSecret: content.messageSecret } };
    case 'reaction':
      return {
        react: {
          text: content.emoji,
          key: {
            remoteJid: jid,
            id: content.target.id,
            fromMe: content.target.fromMe,
            ...(content.target.participant ? { participant: content.target.participant } : {}),
          },
        },
      };
    default:
      break; // media: below
  }
  const media = 'buffer' in content.media ? content.media.buffer : content.media;
  const caption = content.caption ? { caption: content.caption } : {};
  switch (content.type) {
    case 'image':
      return { image: media, ...caption, ...(content.mimeType ? { mimetype: content.mimeType } : {}), ...mentioned };
    case 'video':
      return { video: media, ...caption, ...(content.mimeType ? { mimetype: content.mimeType } : {}), ...mentioned };
    case 'audio':
      return { audio: media, ptt: content.ptt, mimetype: content.mimeType ?? (content.ptt ? 'audio/ogg; codecs=opus' : 'audio/mpeg'), ...mentioned };
    case 'document':
      return { document: media, mimetype: content.mimeType ?? 'application/octet-stream', fileName: content.fileName ?? 'file', ...caption, ...mentioned };
    case 'sticker':
      return { sticker: media, mimetype: content.mimeType ?? 'image/webp', ...mentioned };
  }
}
