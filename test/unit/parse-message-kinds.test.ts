import { parseCommand } from '../../src/commands/parse-command.js';
import { MENTIONS_MAX } from '../../src/commands/parse-message-kinds.js';

const limits = { maxBytes: 1024 * 1024, maxMediaBytes: 1000 };
const send = (data: Record<string, unknown>) =>
  parseCommand(Buffer.from(JSON.stringify({ action: 'send_message', numberId: 6, workerId: '1', requestId: 'req-1', data })), {}, limits);
const TO = '+221770000001';
const VCARD = 'BEGIN:VCARD\nVERSION:3.0\nFN:Ann Example\nTEL;type=CELL;waid=221770000002:+221 77 000 00 02\nEND:VCARD';

/** The parsed message of an accepted send (fails the test otherwise). */
function accepted(data: Record<string, unknown>) {
  const r = send(data);
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.reason}`);
  if (r.command.action !== 'send_message') throw new Error('not a send_message');
  return r.command;
}

describe('parseCommand: send_message kinds (location, contact, poll, sticker, reaction) and mentions', () => {
  it('location: latitude, longitude, optional name and address', () => {
    expect(accepted({ to: TO, type: 'location', latitude: 14.6928, longitude: -17.4467, name: 'Dakar', address: 'Place de l’Indépendance' }).message).toEqual({
      type: 'location',
      latitude: 14.6928,
      longitude: -17.4467,
      name: 'Dakar',
      address: 'Place de l’Indépendance',
    });
    expect(accepted({ to: TO, type: 'location', latitude: -90, longitude: 180 }).message).toMatchObject({ name: undefined, address: undefined });
  });

  it('contact: one or more vCards; displayName defaults to the FN line', () => {
    expect(
      accepted({ to: TO, type: 'contact', contacts: [{ vcard: VCARD }, { displayName: 'Bob', vcard: VCARD.replace('Ann Example', 'B') }] }).message,
    ).toEqual({
      type: 'contact',
      contacts: [
        { displayName: 'Ann Example', vcard: VCARD },
        { displayName: 'Bob', vcard: VCARD.replace('Ann Example', 'B') },
      ],
    });
  });

  it('poll: name, options trimmed, selectableCount defaulting to 0 (any)', () => {
    expect(accepted({ to: TO, type: 'poll', name: ' Lunch? ', options: ['Yes', ' No '] }).message).toEqual({
      type: 'poll',
      name: 'Lunch?',
      options: ['Yes', 'No'],
      selectableCount: 0,
    });
    expect(accepted({ to: TO, type: 'poll', name: 'Pick', options: ['a', 'b', 'c'], selectableCount: 1 }).message).toMatchObject({ selectableCount: 1 });
  });

  it('sticker: WebP media like the other media types (image/webp by default)', () => {
    expect(accepted({ to: TO, type: 'sticker', mediaKey: 'media/session_6_~2B221/stickers/3EB0AA.webp' }).message).toEqual({
      type: 'sticker',
      media: { kind: 'mediaKey', key: 'media/session_6_~2B221/stickers/3EB0AA.webp' },
      mimeType: 'image/webp',
      caption: undefined,
      fileName: undefined,
      ptt: false,
    });
  });

  it('reaction: an emoji on a message of the chat; "" removes it; fromMe and participant complete the key', () => {
    expect(accepted({ to: TO, type: 'reaction', messageId: '3EB0ABC', emoji: '👍' }).message).toEqual({
      type: 'reaction',
      messageId: '3EB0ABC',
      emoji: '👍',
      fromMe: undefined,
      participant: undefined,
    });
    expect(accepted({ to: TO, type: 'reaction', messageId: '3EB0ABC', emoji: '' }).message).toMatchObject({ emoji: '' });
    for (const emoji of ['👨‍👩‍👧‍👦', '🇸🇳', '1️⃣', '❤️', '👍🏽']) expect(accepted({ to: TO, type: 'reaction', messageId: 'A1', emoji }).message).toMatchObject({ emoji });
    expect(
      accepted({ to: '120363025246125486@g.us', type: 'reaction', messageId: 'A1', emoji: '🙏', fromMe: false, participant: '+221 77 000 00 02' }).message,
    ).toMatchObject({ fromMe: false, participant: '221770000002@s.whatsapp.net' });
  });

  it('mentions: phones and JIDs, normalised to JIDs, each once; replyTo works for the new kinds', () => {
    const cmd = accepted({
      to: TO,
      type: 'location',
      latitude: 1,
      longitude: 2,
      replyTo: '3EB0FF',
      mentions: ['+221770000002', '221770000002@s.whatsapp.net', '123456789012345@lid'],
    });
    expect(cmd.mentions).toEqual(['221770000002@s.whatsapp.net', '123456789012345@lid']);
    expect(cmd.replyTo).toBe('3EB0FF');
    expect(accepted({ to: TO, type: 'text', text: 'hi' }).mentions).toBeUndefined();
    expect(accepted({ to: TO, type: 'poll', name: 'q', options: ['a', 'b'], replyTo: '3EB0FF' }).replyTo).toBe('3EB0FF');
  });

  it.each([
    [{ type: 'location', longitude: 2 }, 'INVALID_COMMAND', /needs "latitude" and "longitude"/],
    [{ type: 'location', latitude: 91, longitude: 2 }, 'INVALID_COMMAND', /"latitude" 91 is not between -90 and 90/],
    [{ type: 'location', latitude: 1, longitude: -180.5 }, 'INVALID_COMMAND', /"longitude" -180.5 is not between -180 and 180/],
    [{ type: 'location', latitude: 1, longitude: 2, name: 'x'.repeat(257) }, 'INVALID_COMMAND', /"name" is longer than 256/],
    [{ type: 'location', latitude: 1, longitude: 2, text: 'here' }, 'INVALID_COMMAND', /type "location" takes no "text"/],
    [{ type: 'location', latitude: '1', longitude: 2 }, 'INVALID_COMMAND', /latitude/],
    [{ type: 'contact' }, 'INVALID_COMMAND', /needs "contacts"/],
    [{ type: 'contact', contacts: [] }, 'INVALID_COMMAND', /needs "contacts"/],
    [{ type: 'contact', contacts: Array.from({ length: 21 }, () => ({ vcard: VCARD })) }, 'INVALID_COMMAND', /21 cards, more than 20/],
    [{ type: 'contact', contacts: [{ vcard: 'FN:Ann' }] }, 'INVALID_COMMAND', /contacts\[0\]\.vcard is not a vCard/],
    [
      { type: 'contact', contacts: [{ vcard: VCARD }, { vcard: `BEGIN:VCARD\n${'N:x\n'.repeat(5000)}END:VCARD` }] },
      'INVALID_COMMAND',
      /contacts\[1\]\.vcard is longer/,
    ],
    [{ type: 'contact', contacts: [{ displayName: 'x'.repeat(300), vcard: VCARD }] }, 'INVALID_COMMAND', /displayName is longer than 256/],
    [{ type: 'poll', options: ['a', 'b'] }, 'INVALID_COMMAND', /needs "name"/],
    [{ type: 'poll', name: 'x'.repeat(256), options: ['a', 'b'] }, 'INVALID_COMMAND', /longer than 255/],
    [{ type: 'poll', name: 'q' }, 'INVALID_COMMAND', /2 to 12 of them \(got 0\)/],
    [{ type: 'poll', name: 'q', options: ['only'] }, 'INVALID_COMMAND', /2 to 12 of them \(got 1\)/],
    [{ type: 'poll', name: 'q', options: Array.from({ length: 13 }, (_, i) => `o${i}`) }, 'INVALID_COMMAND', /got 13/],
    [{ type: 'poll', name: 'q', options: ['a', '  '] }, 'INVALID_COMMAND', /options\[1\] is empty/],
    [{ type: 'poll', name: 'q', options: ['a', 'x'.repeat(101)] }, 'INVALID_COMMAND', /options\[1\] is longer than 100/],
    [{ type: 'poll', name: 'q', options: ['a', 'b', 'a '] }, 'INVALID_COMMAND', /options\[2\] repeats options\[0\]/],
    [{ type: 'poll', name: 'q', options: ['a', 'b'], selectableCount: 3 }, 'INVALID_COMMAND', /"selectableCount" 3 is not between 0 \(any\) and 2/],
    [{ type: 'poll', name: 'q', options: ['a', 'b'], selectableCount: -1 }, 'INVALID_COMMAND', /"selectableCount" -1/],
    [{ type: 'poll', name: 'q', options: ['a', 'b'], mentions: ['+221770000002'] }, 'INVALID_COMMAND', /type "poll" takes no "mentions"/],
    [{ type: 'sticker' }, 'INVALID_MEDIA', /needs one of "url", "base64" or "mediaKey"/],
    [{ type: 'sticker', url: 'https://a/b.png', mimeType: 'image/png' }, 'INVALID_MEDIA', /image\/webp, not "image\/png"/],
    [{ type: 'sticker', url: 'https://a/b.webp', caption: 'c' }, 'INVALID_COMMAND', /type "sticker" takes no "caption"/],
    [{ type: 'reaction', emoji: '👍' }, 'INVALID_COMMAND', /needs "messageId"/],
    [{ type: 'reaction', messageId: 'not an id!', emoji: '👍' }, 'INVALID_COMMAND', /not a WhatsApp message id/],
    [{ type: 'reaction', messageId: '3EB0ABC' }, 'INVALID_COMMAND', /needs "emoji"/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: '👍👍' }, 'INVALID_COMMAND', /one emoji/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: 'ok' }, 'INVALID_COMMAND', /one emoji/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: '👍', replyTo: '3EB0FF' }, 'INVALID_COMMAND', /type "reaction" takes no "replyTo"/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: '👍', mentions: ['+221770000002'] }, 'INVALID_COMMAND', /takes no "mentions"/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: '👍', participant: 'bob' }, 'INVALID_RECIPIENT', /"participant"/],
    [{ type: 'reaction', messageId: '3EB0ABC', emoji: '👍', participant: '120363025246125486@g.us' }, 'INVALID_RECIPIENT', /not a group/],
    [{ type: 'text', text: 'x', options: ['a', 'b'] }, 'INVALID_COMMAND', /type "text" takes no "options"/],
    [{ type: 'image', url: 'https://a/b', emoji: '👍' }, 'INVALID_COMMAND', /type "image" takes no "emoji"/],
    [
      { type: 'text', text: 'x', mentions: Array.from({ length: MENTIONS_MAX + 1 }, (_, i) => `+2217700${String(i).padStart(5, '0')}`) },
      'INVALID_COMMAND',
      /more than 100/,
    ],
    [{ type: 'text', text: 'x', mentions: ['+221770000002', 'everyone'] }, 'INVALID_RECIPIENT', /mentions\[1\] "everyone"/],
    [{ type: 'text', text: 'x', mentions: ['120363025246125486@g.us'] }, 'INVALID_RECIPIENT', /mentions\[0\] is a group/],
  ])('refuses %j with %s', (data, code, reason) => {
    const r = send({ to: TO, ...data });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(reason);
    expect(r.hint).toMatchObject({ action: 'send_message', numberId: 6, requestId: 'req-1' });
  });
});
