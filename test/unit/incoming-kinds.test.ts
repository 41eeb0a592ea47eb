import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { proto, WAMessage } from '@whiskeysockets/baileys';
import { toIncomingMessage } from '../../src/whatsapp/incoming-message.js';
import { toBaileysContent } from '../../src/whatsapp/baileys-content.js';
import { encryptPollVote } from '../emulator/poll-votes.js';

/** The received kinds' fields, bounded, and poll votes as the boundary hands them (decrypted with Baileys' own `decryptPollVote`). */
const download = async () => Readable.from([Buffer.from('x')]);
const msg = (message: proto.IMessage, key: Partial<WAMessage['key']> = {}): WAMessage => ({
  key: { remoteJid: '111@lid', remoteJidAlt: '221770000001@s.whatsapp.net', id: 'ID1', fromMe: false, ...key },
  message,
  messageTimestamp: 1_733_396_400,
});
const ME = ['221771234567:3@s.whatsapp.net', '999999:3@lid'];
const sha = (s: string) => createHash('sha256').update(s).digest();
const VCARD = 'BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nEND:VCARD';

describe('received kinds → IncomingMessage', () => {
  it('location: coordinates, name, address, quote and mentions; out-of-range coordinates are left out', () => {
    const m = toIncomingMessage(
      msg({
        locationMessage: {
          degreesLatitude: 14.7,
          degreesLongitude: -17.4,
          name: 'Dakar',
          address: 'x'.repeat(5000),
          contextInfo: { stanzaId: 'Q1', mentionedJid: ['221770000009@s.whatsapp.net', '<script>@evil', 'x'.repeat(5000)] },
        },
      }),
      download,
    );
    expect(m).toMatchObject({ type: 'location', text: 'Dakar', replyTo: 'Q1', mentions: ['221770000009@s.whatsapp.net'] });
    expect(m?.location).toEqual({ latitude: 14.7, longitude: -17.4, name: 'Dakar', address: 'x'.repeat(1024) });
    expect(toIncomingMessage(msg({ locationMessage: { degreesLatitude: 400, degreesLongitude: 0 } }), download)?.location).toBeUndefined();
    expect(toIncomingMessage(msg({ liveLocationMessage: { degreesLatitude: 1, degreesLongitude: 2 } }), download)?.location).toEqual({
      latitude: 1,
      longitude: 2,
    });
  });

  it('contacts: one card or an array; oversized cards left out, at most 20', () => {
    expect(toIncomingMessage(msg({ contactMessage: { displayName: 'Ann', vcard: VCARD } }), download)).toMatchObject({
      type: 'contact',
      text: 'Ann',
      contacts: [{ displayName: 'Ann', vcard: VCARD }],
    });
    const many = Array.from({ length: 30 }, (_, i) => ({ displayName: `c${i}`, vcard: i === 0 ? `BEGIN:VCARD\n${'x'.repeat(20_000)}\nEND:VCARD` : VCARD }));
    const m = toIncomingMessage(msg({ contactsArrayMessage: { displayName: '30 contacts', contacts: many } }), download);
    expect(m?.contacts).toHaveLength(19);
    expect(m?.contacts?.[0]).toEqual({ displayName: 'c1', vcard: VCARD });
  });

  it('polls: every version, options and selectable count', () => {
    const poll = { name: 'Lunch?', options: [{ optionName: 'Rice' }, { optionName: 'Fish' }], selectableOptionsCount: 1 };
    for (const field of ['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3'] as const) {
      expect(toIncomingMessage(msg({ [field]: poll }), download)).toMatchObject({
        type: 'poll',
        text: 'Lunch?',
        poll: { name: 'Lunch?', options: ['Rice', 'Fish'], selectableCount: 1 },
      });
    }
    const hostile = { name: 'q', options: Array.from({ length: 100 }, (_, i) => ({ optionName: `o${i}` })), selectableOptionsCount: 500 };
    const m = toIncomingMessage(msg({ pollCreationMessage: hostile }), download);
    expect(m?.poll?.options).toHaveLength(32);
    expect(m?.poll?.selectableCount).toBe(0);
  });

  it('a poll vote (encrypted as WhatsApp clients do) decrypts with the poll secret, whichever of PN or LID the voter keyed it with', () => {
    const secret = randomBytes(32);
    for (const [creator, voter] of [
      ['221771234567@s.whatsapp.net', '221770000001@s.whatsapp.net'],
      ['999999@lid', '111@lid'],
    ] as const) {
      const vote = encryptPollVote({ pollMessageId: 'POLL1', pollCreatorJid: creator, voterJid: voter, pollSecret: secret, selectedOptions: ['Fish'] });
      const m = toIncomingMessage(
        msg({ pollUpdateMessage: { pollCreationMessageKey: { remoteJid: '111@lid', fromMe: true, id: 'POLL1' }, vote, senderTimestampMs: 1_733_396_401_000 } }),
        download,
        ME,
      );
      expect(m?.type).toBe('other');
      expect(m?.pollVote).toMatchObject({ pollMessageId: 'POLL1', votedAt: 1_733_396_401_000 });
      expect(m?.pollVote?.decrypt(secret)).toEqual([sha('Fish')]);
      expect(m?.pollVote?.decrypt(randomBytes(32))).toBeUndefined();
    }
  });

  it('a vote without its encrypted payload is no vote', () => {
    const m = toIncomingMessage(msg({ pollUpdateMessage: { pollCreationMessageKey: { remoteJid: '111@lid', id: 'POLL1' } } }), download, ME);
    expect(m?.pollVote).toBeUndefined();
  });
});

describe('outgoing kinds → Baileys content', () => {
  it('location, contacts, poll (our secret), reaction (target key in the chat), sticker; mentions where they belong', () => {
    const jid = '221770000001@s.whatsapp.net';
    const mentions = ['221770000002@s.whatsapp.net'];
    expect(toBaileysContent(jid, { type: 'location', latitude: 1, longitude: 2, name: 'N', address: undefined }, mentions)).toEqual({
      location: { degreesLatitude: 1, degreesLongitude: 2, name: 'N' },
      mentions,
    });
    expect(toBaileysContent(jid, { type: 'contact', contacts: [{ displayName: 'Ann', vcard: VCARD }] })).toEqual({
      contacts: { displayName: 'Ann', contacts: [{ displayName: 'Ann', vcard: VCARD }] },
    });
    const secret = randomBytes(32);
    expect(toBaileysContent(jid, { type: 'poll', name: 'q', options: ['a', 'b'], selectableCount: 1, messageSecret: secret })).toEqual({
      poll: { name: 'q', values: ['a', 'b'], selectableCount: 1, messageSecret: secret },
    });
    expect(toBaileysContent(jid, { type: 'reaction', emoji: '👍', target: { id: 'X', fromMe: false, participant: '2@s.whatsapp.net' } })).toEqual({
      react: { text: '👍', key: { remoteJid: jid, id: 'X', fromMe: false, participant: '2@s.whatsapp.net' } },
    });
    const sticker = Buffer.from('RIFF');
    expect(
      toBaileysContent(
        jid,
        { type: 'sticker', media: { buffer: sticker }, mimeType: undefined, caption: undefined, fileName: undefined, ptt: false },
        mentions,
      ),
    ).toEqual({ sticker, mimetype: 'image/webp', mentions });
  });
});
