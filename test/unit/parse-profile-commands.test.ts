import { parseCommand } from '../../src/commands/parse-command.js';
import { PROFILE_PICTURE_MAX_PIXELS } from '../../src/commands/parse-profile-commands.js';
import { imageHeader } from '../../src/util/image-format.js';
import { JPEG_8x8, PNG_8x8 } from '../helpers/images.js';

const limits = { maxBytes: 1024 * 1024, maxMediaBytes: 64 * 1024 };
const parse = (body: unknown, meta = {}, l = limits) => parseCommand(Buffer.from(JSON.stringify(body)), meta, l);
const command = (action: string, data: Record<string, unknown>) => parse({ action, numberId: 6, workerId: '1', requestId: 'req-1', data });
const update = (data: Record<string, unknown>) => command('update_profile', data);

/** A PNG header declaring `width`×`height` (nothing after the IHDR). */
function pngHeader(width: number, height: number): Buffer {
  const b = Buffer.from(PNG_8x8.subarray(0, 24));
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

describe('parseCommand: subscribe_presence, get_profile, block, unblock (a contact)', () => {
  it.each(['subscribe_presence', 'get_profile', 'block', 'unblock'])('%s: a phone becomes canonical with its JID; a user JID or LID is kept', (action) => {
    expect(command(action, { chat: '221 77 000 00 01' })).toEqual({
      ok: true,
      command: expect.objectContaining({ action, numberId: 6, requestId: 'req-1', chat: '+221770000001', jid: '221770000001@s.whatsapp.net' }),
    });
    expect(command(action, { chat: '221770000001@S.whatsapp.net' })).toMatchObject({
      ok: true,
      command: { chat: '221770000001@s.whatsapp.net', jid: '221770000001@s.whatsapp.net' },
    });
    expect(command(action, { chat: '123456789012345@lid' })).toMatchObject({ ok: true, command: { chat: '123456789012345@lid', jid: '123456789012345@lid' } });
  });

  it('fields at the top level and the correlation id as requestId', () => {
    const r = parse({ action: 'get_profile', numberId: 6, chat: '+221770000001' }, { correlationId: 'corr-1' });
    expect(r).toMatchObject({ ok: true, command: { requestId: 'corr-1', chat: '+221770000001' } });
  });

  it.each([
    ['no requestId', 'INVALID_COMMAND', { action: 'block', numberId: 6, data: { chat: '+221770000001' } }, /needs "requestId".*block_status_changed/],
    ['"chat" missing', 'INVALID_COMMAND', { action: 'get_profile', numberId: 6, requestId: 'r', data: {} }, /needs "chat", the contact/],
    ['"chat" not a phone', 'INVALID_PHONE', { action: 'block', numberId: 6, requestId: 'r', data: { chat: 'call me' } }, /^chat: /],
    ['"chat" a national number', 'INVALID_PHONE', { action: 'unblock', numberId: 6, requestId: 'r', data: { chat: '0771234567' } }, /^chat: /],
    [
      '"chat" a group',
      'INVALID_RECIPIENT',
      { action: 'subscribe_presence', numberId: 6, requestId: 'r', data: { chat: '120363000000000001@g.us' } },
      /is a group/,
    ],
    [
      '"chat" a device JID',
      'INVALID_RECIPIENT',
      { action: 'get_profile', numberId: 6, requestId: 'r', data: { chat: '221770000001:3@s.whatsapp.net' } },
      /^chat: /,
    ],
    ['"chat" another server', 'INVALID_RECIPIENT', { action: 'block', numberId: 6, requestId: 'r', data: { chat: 'x@example.com' } }, /^chat: /],
    ['"chat" too long', 'INVALID_COMMAND', { action: 'block', numberId: 6, requestId: 'r', data: { chat: '1'.repeat(65) } }, /data\.chat/],
  ])('%s → %s', (_what, code, body, reason) => {
    expect(parse(body)).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason), hint: { numberId: 6 } });
  });
});

describe('parseCommand: update_profile', () => {
  it('name (trimmed), about (newlines allowed, "" clears), picture from base64, url or mediaKey, removePicture', () => {
    expect(update({ name: '  Helpdesk  ', about: 'Open\n9-18' })).toMatchObject({
      ok: true,
      command: { action: 'update_profile', changes: { name: 'Helpdesk', about: 'Open\n9-18' } },
    });
    expect(update({ about: '' })).toMatchObject({ ok: true, command: { changes: { about: '' } } });
    const jpeg = update({ picture: { base64: JPEG_8x8.toString('base64') } });
    expect(jpeg.ok && jpeg.command.action === 'update_profile' && jpeg.command.changes.picture).toEqual({ kind: 'base64', data: JPEG_8x8 });
    expect(update({ picture: { base64: `data:image/png;base64,${PNG_8x8.toString('base64')}` } })).toMatchObject({ ok: true });
    expect(update({ picture: { url: 'https://cdn.example/p.jpg' } })).toMatchObject({
      ok: true,
      command: { changes: { picture: { kind: 'url', url: 'https://cdn.example/p.jpg' } } },
    });
    expect(update({ picture: { mediaKey: 'media/session_6_221771234567/images/a.jpg', mimeType: 'image/jpeg' } })).toMatchObject({
      ok: true,
      command: { changes: { picture: { kind: 'mediaKey' } } },
    });
    expect(update({ removePicture: true })).toMatchObject({ ok: true, command: { changes: { removePicture: true } } });
    // 25 characters as a person counts them (an emoji is one).
    expect(update({ name: `${'a'.repeat(24)}😀` })).toMatchObject({ ok: true });
    expect(update({ about: 'é'.repeat(139) })).toMatchObject({ ok: true });
  });

  it('a picture larger than COMMAND_MAX_BYTES is allowed in picture.base64, as send_message media is', () => {
    const big = Buffer.concat([JPEG_8x8, Buffer.alloc(4000)]);
    const body = { action: 'update_profile', numberId: 6, requestId: 'r', data: { picture: { base64: big.toString('base64') } } };
    expect(parse(body, {}, { maxBytes: 2048, maxMediaBytes: 64 * 1024 })).toMatchObject({ ok: true });
    const elsewhere = { action: 'update_profile', numberId: 6, requestId: 'r', data: { about: 'x', base64: big.toString('base64') } };
    expect(parse(elsewhere, {}, { maxBytes: 2048, maxMediaBytes: 64 * 1024 })).toMatchObject({ ok: false, code: 'PAYLOAD_TOO_LARGE' });
  });

  it.each([
    ['no field', 'INVALID_COMMAND', {}, /at least one of "name", "about", "picture" or "removePicture"/],
    ['removePicture false alone', 'INVALID_COMMAND', { removePicture: false }, /at least one of/],
    ['"chat" given', 'INVALID_COMMAND', { chat: '+221770000001', about: 'x' }, /takes no "chat"/],
    ['name empty', 'INVALID_COMMAND', { name: '   ' }, /"name" must not be empty/],
    ['name of 26 characters', 'INVALID_COMMAND', { name: 'a'.repeat(26) }, /26 characters, more than WhatsApp's 25/],
    ['name with a control character', 'INVALID_COMMAND', { name: 'Help\u0007desk' }, /control characters/],
    ['name not a string', 'INVALID_COMMAND', { name: 7 }, /data\.name/],
    ['name far too long', 'INVALID_COMMAND', { name: 'a'.repeat(1025) }, /data\.name/],
    ['about of 140 characters', 'INVALID_COMMAND', { about: 'a'.repeat(140) }, /140 characters, more than WhatsApp's 139/],
    ['about with a control character', 'INVALID_COMMAND', { about: 'tab\there' }, /control characters \(newlines excepted\)/],
    ['picture and removePicture', 'INVALID_COMMAND', { picture: { base64: JPEG_8x8.toString('base64') }, removePicture: true }, /exclude each other/],
    ['picture with no source', 'INVALID_MEDIA', { picture: {} }, /^picture: needs one of "url", "base64" or "mediaKey"/],
    [
      'picture with two sources',
      'INVALID_MEDIA',
      { picture: { url: 'https://a.example/p.jpg', mediaKey: 'media/s/images/a.jpg' } },
      /^picture: takes only one/,
    ],
    ['picture url with credentials', 'INVALID_MEDIA', { picture: { url: 'https://u:p@a.example/p.jpg' } }, /must not carry credentials/],
    ['picture url not http', 'INVALID_COMMAND', { picture: { url: 'file:///etc/passwd' } }, /data\.picture\.url/],
    ['picture mediaKey not a media key', 'INVALID_MEDIA', { picture: { mediaKey: '../../etc/passwd' } }, /is not a media store key/],
    [
      'picture a GIF by its MIME type',
      'INVALID_MEDIA',
      { picture: { url: 'https://a.example/p.gif', mimeType: 'image/gif' } },
      /"image\/gif" is not a JPEG or PNG/,
    ],
    ['picture base64 not base64', 'INVALID_MEDIA', { picture: { base64: '***' } }, /is not base64 data/],
    ['picture base64 not an image', 'INVALID_MEDIA', { picture: { base64: Buffer.from('GIF89a...').toString('base64') } }, /not a JPEG or PNG image/],
    [
      'picture declaring too many pixels',
      'INVALID_MEDIA',
      { picture: { base64: pngHeader(100_000, 100_000).toString('base64') } },
      /100000×100000 pixels, more than/,
    ],
    [
      'picture larger than MEDIA_MAX_BYTES',
      'MEDIA_TOO_LARGE',
      { picture: { base64: Buffer.alloc(70 * 1024).toString('base64') } },
      /more than MEDIA_MAX_BYTES/,
    ],
    ['removePicture not a boolean', 'INVALID_COMMAND', { removePicture: 'yes' }, /data\.removePicture/],
  ])('%s → %s', (_what, code, data, reason) => {
    expect(update(data)).toMatchObject({
      ok: false,
      code,
      reason: expect.stringMatching(reason),
      hint: { action: 'update_profile', numberId: 6, requestId: 'req-1' },
    });
  });

  it('no requestId → INVALID_COMMAND naming its answer', () => {
    expect(parse({ action: 'update_profile', numberId: 6, data: { about: 'x' } })).toMatchObject({
      ok: false,
      code: 'INVALID_COMMAND',
      reason: expect.stringMatching(/needs "requestId".*profile_updated/),
    });
  });
});

describe('imageHeader', () => {
  it('reads the format and size of a JPEG (its frame header) and a PNG (its IHDR)', () => {
    expect(imageHeader(JPEG_8x8)).toEqual({ format: 'jpeg', width: 8, height: 8 });
    expect(imageHeader(PNG_8x8)).toEqual({ format: 'png', width: 8, height: 8 });
    expect(imageHeader(pngHeader(640, 480))).toEqual({ format: 'png', width: 640, height: 480 });
  });

  it('anything else, or a header cut short, is not an image', () => {
    expect(imageHeader(Buffer.from('GIF89a'))).toBeUndefined();
    expect(imageHeader(Buffer.alloc(0))).toBeUndefined();
    expect(imageHeader(JPEG_8x8.subarray(0, 20))).toBeUndefined();
    expect(imageHeader(PNG_8x8.subarray(0, 20))).toBeUndefined();
    expect(imageHeader(pngHeader(0, 10))).toBeUndefined();
    // A JPEG whose segments run straight into its scan, with no frame header.
    expect(imageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]))).toBeUndefined();
    expect(PROFILE_PICTURE_MAX_PIXELS).toBeLessThan(100_000 * 100_000);
  });
});
