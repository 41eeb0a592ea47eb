import { Readable } from 'node:stream';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { receiptStatus, toIncomingMessage } from '../../src/whatsapp/incoming-message.js';

const download = async () => Readable.from([Buffer.from('x')]);
const msg = (message: proto.IMessage | undefined, key: Partial<WAMessage['key']> = {}, extra: Partial<WAMessage> = {}): WAMessage => ({
  key: { remoteJid: '111@lid', remoteJidAlt: '221770000001@s.whatsapp.net', id: 'ID1', fromMe: false, ...key },
  message,
  messageTimestamp: 1_733_396_400,
  pushName: 'Alice',
  ...extra,
});

describe('Baileys messages → IncomingMessage', () => {
  it('text, with sender as LID and PN, timestamp in ms', () => {
    expect(toIncomingMessage(msg({ conversation: 'hi' }), download)).toEqual({
      id: 'ID1',
      chat: '111@lid',
      isGroup: false,
      from: { lid: '111@lid', pn: '221770000001@s.whatsapp.net' },
      pushName: 'Alice',
      sentAt: 1_733_396_400_000,
      type: 'text',
      text: 'hi',
    });
  });

  it('extended text with a quote; ephemeral wrappers are unwrapped', () => {
    const m = toIncomingMessage(msg({ ephemeralMessage: { message: { extendedTextMessage: { text: 'yes', contextInfo: { stanzaId: 'Q1' } } } } }), download);
    expect(m).toMatchObject({ type: 'text', text: 'yes', replyTo: 'Q1' });
  });

  it('groups: the participant is the sender', () => {
    const m = toIncomingMessage(
      msg({ conversation: 'g' }, { remoteJid: '1203@g.us', remoteJidAlt: undefined, participant: '222@lid', participantAlt: '221770000002@s.whatsapp.net' }),
      download,
    );
    expect(m).toMatchObject({ chat: '1203@g.us', isGroup: true, participant: '222@lid', from: { lid: '222@lid', pn: '221770000002@s.whatsapp.net' } });
  });

  it('media: kind, MIME type, size, file name, caption, voice note', () => {
    const img = toIncomingMessage(msg({ imageMessage: { mimetype: 'image/jpeg', fileLength: 1234, caption: 'cap', url: 'https://x' } }), download)!;
    expect(img).toMatchObject({ type: 'image', caption: 'cap', text: 'cap', media: { kind: 'image', mimeType: 'image/jpeg', size: 1234, ptt: false } });
    expect(img.media!.open).toBe(download);
    expect(toIncomingMessage(msg({ audioMessage: { mimetype: 'audio/ogg', ptt: true } }), download)!.media).toMatchObject({ kind: 'audio', ptt: true });
    expect(toIncomingMessage(msg({ documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf' } }), download)!.media).toMatchObject({
      kind: 'document',
      fileName: 'a.pdf',
    });
  });

  it('locations, contacts; unknown content is "other"; reactions are updates (incoming-update.ts), not messages', () => {
    expect(toIncomingMessage(msg({ reactionMessage: { text: '👍', key: { id: 'R1' } } }), download)).toBeUndefined();
    expect(toIncomingMessage(msg({ locationMessage: { degreesLatitude: 1, name: 'Dakar' } }), download)).toMatchObject({ type: 'location', text: 'Dakar' });
    expect(toIncomingMessage(msg({ contactMessage: { displayName: 'Bob' } }), download)).toMatchObject({ type: 'contact', text: 'Bob' });
    expect(toIncomingMessage(msg({ buttonsResponseMessage: { selectedButtonId: 'b' } }), download)).toMatchObject({ type: 'other' });
  });

  it('skips our own messages, protocol messages, stubs, status broadcasts', () => {
    expect(toIncomingMessage(msg({ conversation: 'mine' }, { fromMe: true }), download)).toBeUndefined();
    expect(toIncomingMessage(msg({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE } }), download)).toBeUndefined();
    expect(toIncomingMessage(msg({ senderKeyDistributionMessage: { groupId: 'g' } }), download)).toBeUndefined();
    expect(toIncomingMessage(msg(undefined, {}, { messageStubType: 20 }), download)).toBeUndefined();
    expect(toIncomingMessage(msg({ conversation: 's' }, { remoteJid: 'status@broadcast' }), download)).toBeUndefined();
  });

  it('receipt statuses', () => {
    expect([0, 1, 2, 3, 4, 5].map(receiptStatus)).toEqual(['failed', undefined, 'server_ack', 'delivered', 'read', 'played']);
  });
});
