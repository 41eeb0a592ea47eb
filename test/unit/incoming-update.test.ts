import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { MAX_EDIT_TEXT_CHARS, MAX_REACTION_CHARS, toIncomingUpdate } from '../../src/whatsapp/incoming-update.js';

const { MESSAGE_EDIT, REVOKE, EPHEMERAL_SETTING } = proto.Message.ProtocolMessage.Type;
const msg = (message: proto.IMessage | undefined, key: Partial<WAMessage['key']> = {}): WAMessage => ({
  key: { remoteJid: '111@lid', remoteJidAlt: '221770000001@s.whatsapp.net', id: 'UPD1', fromMe: false, ...key },
  message,
  messageTimestamp: 1_733_396_400,
});

describe('Baileys messages → IncomingUpdate', () => {
  it('a reaction: its own id, the target (fromMe as Baileys normalised it), the emoji, the sender time', () => {
    const u = toIncomingUpdate(
      msg({ reactionMessage: { key: { id: 'OURS1', fromMe: true, remoteJid: '111@lid' }, text: '👍', senderTimestampMs: 1_733_396_401_234 } }),
    );
    expect(u).toEqual({
      id: 'UPD1',
      chat: '111@lid',
      isGroup: false,
      from: { lid: '111@lid', pn: '221770000001@s.whatsapp.net' },
      kind: 'reaction',
      target: { id: 'OURS1', fromMe: true },
      emoji: '👍',
      at: 1_733_396_401_234,
    });
  });

  it("a removed reaction is ''; an over-long one is cut", () => {
    expect(toIncomingUpdate(msg({ reactionMessage: { key: { id: 'T1' }, text: '' } }))).toMatchObject({ kind: 'reaction', emoji: '', at: 1_733_396_400_000 });
    expect(toIncomingUpdate(msg({ reactionMessage: { key: { id: 'T1' } } }))).toMatchObject({ emoji: '' });
    const long = toIncomingUpdate(msg({ reactionMessage: { key: { id: 'T1' }, text: 'x'.repeat(1000) } }));
    expect(long?.kind === 'reaction' && long.emoji).toHaveLength(MAX_REACTION_CHARS);
  });

  it('an edit (also wrapped in editedMessage, as WhatsApp sends it): the edited id, the new text or caption, cut to what WhatsApp allows', () => {
    const edit = (editedMessage: proto.IMessage) => ({
      protocolMessage: { key: { id: 'M1', fromMe: true }, type: MESSAGE_EDIT, editedMessage, timestampMs: 1_733_396_500_000 },
    });
    expect(toIncomingUpdate(msg(edit({ conversation: 'v2' })))).toMatchObject({
      kind: 'edit',
      target: { id: 'M1', fromMe: true },
      newText: 'v2',
      at: 1_733_396_500_000,
    });
    expect(toIncomingUpdate(msg({ editedMessage: { message: edit({ extendedTextMessage: { text: 'v3' } }) } }))).toMatchObject({ kind: 'edit', newText: 'v3' });
    expect(toIncomingUpdate(msg(edit({ imageMessage: { caption: 'new caption' } })))).toMatchObject({ newText: 'new caption' });
    expect(toIncomingUpdate(msg(edit({ locationMessage: { degreesLatitude: 1 } })))).not.toHaveProperty('newText');
    const long = toIncomingUpdate(msg(edit({ conversation: 'y'.repeat(MAX_EDIT_TEXT_CHARS + 10) })));
    expect(long?.kind === 'edit' && long.newText).toHaveLength(MAX_EDIT_TEXT_CHARS);
  });

  it('a revoke: the revoked id; in a group, the revoker is the participant and the target names its author', () => {
    expect(toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M2', fromMe: true }, type: REVOKE } }))).toMatchObject({
      kind: 'revoke',
      target: { id: 'M2', fromMe: true },
      at: 1_733_396_400_000,
    });
    const group = toIncomingUpdate(
      msg(
        { protocolMessage: { key: { id: 'M3', fromMe: false, participant: '333@lid' }, type: REVOKE } },
        { remoteJid: '1203@g.us', remoteJidAlt: undefined, participant: '222@lid', participantAlt: '221770000002@s.whatsapp.net' },
      ),
    );
    expect(group).toMatchObject({
      kind: 'revoke',
      chat: '1203@g.us',
      isGroup: true,
      participant: '222@lid',
      from: { lid: '222@lid', pn: '221770000002@s.whatsapp.net' },
      target: { id: 'M3', fromMe: false, participant: '333@lid' },
    });
  });

  it('nothing for our own, status broadcasts, newsletters, other protocol messages, real messages, bad ids', () => {
    const revoke = { protocolMessage: { key: { id: 'M2' }, type: REVOKE } };
    expect(toIncomingUpdate(msg(revoke, { fromMe: true }))).toBeUndefined();
    expect(toIncomingUpdate(msg(revoke, { remoteJid: 'status@broadcast' }))).toBeUndefined();
    expect(toIncomingUpdate(msg(revoke, { remoteJid: '123@newsletter' }))).toBeUndefined();
    expect(toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M2' }, type: EPHEMERAL_SETTING } }))).toBeUndefined();
    expect(toIncomingUpdate(msg({ conversation: 'hi' }))).toBeUndefined();
    expect(toIncomingUpdate(msg(undefined))).toBeUndefined();
    expect(toIncomingUpdate(msg({ protocolMessage: { type: REVOKE } }))).toBeUndefined();
    expect(toIncomingUpdate(msg({ protocolMessage: { key: { id: 'X'.repeat(129) }, type: REVOKE } }))).toBeUndefined();
    expect(toIncomingUpdate(msg(revoke, { id: 'X'.repeat(129) }))).toBeUndefined();
    expect(toIncomingUpdate(msg({ reactionMessage: { text: '👍' } }))).toBeUndefined();
  });

  it("nothing for an edit of another's message, or a revoke of another's message outside a group (WhatsApp would show neither)", () => {
    expect(
      toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M4', fromMe: false }, type: MESSAGE_EDIT, editedMessage: { conversation: 'forged' } } })),
    ).toBeUndefined();
    expect(toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M4', fromMe: false }, type: REVOKE } }))).toBeUndefined();
    const inGroup = { remoteJid: '1203@g.us', remoteJidAlt: undefined, participant: '222@lid' };
    expect(
      toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M4', fromMe: false, participant: '333@lid' }, type: MESSAGE_EDIT } }, inGroup)),
    ).toBeUndefined();
    expect(toIncomingUpdate(msg({ protocolMessage: { key: { id: 'M4', fromMe: false, participant: '333@lid' }, type: REVOKE } }, inGroup))).toMatchObject({
      kind: 'revoke',
    });
  });
});
