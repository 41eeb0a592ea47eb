import { parseCommand } from '../../src/commands/parse-command.js';

const limits = { maxBytes: 1024 * 1024, maxMediaBytes: 1000 };
const parse = (body: unknown, meta = {}) => parseCommand(Buffer.from(JSON.stringify(body)), meta, limits);
const send = (data: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  parse({ action: 'send_message', numberId: 6, workerId: '1', requestId: 'req-1', ...top, data });

describe('parseCommand: send_message', () => {
  it("accepts the backend's text send and resolves the recipient to a JID", () => {
    const r = send({ to: '+221770000001', type: 'text', text: 'Hello' });
    expect(r).toEqual({
      ok: true,
      command: expect.objectContaining({
        action: 'send_message',
        numberId: 6,
        workerId: '1',
        requestId: 'req-1',
        to: '+221770000001',
        toJid: '221770000001@s.whatsapp.net',
        message: { type: 'text', text: 'Hello' },
        replyTo: undefined,
        sessionId: undefined,
      }),
    });
  });

  it.each([
    ['221770000001@s.whatsapp.net', '221770000001@s.whatsapp.net'],
    ['123456789012345@lid', '123456789012345@lid'],
    ['120363025246125486@g.us', '120363025246125486@g.us'],
    ['221 77 000-00-01', '221770000001@s.whatsapp.net'],
  ])('accepts "to" %s', (to, jid) => {
    const r = send({ to, type: 'text', text: 'x' });
    expect(r.ok && r.command.action === 'send_message' && r.command.toJid).toBe(jid);
  });

  it('fields may sit at the top level; the correlation id stands in for requestId; replyTo is kept', () => {
    const r = parse({ action: 'send_message', numberId: '6', to: '221770000001', type: 'text', text: 'hi', replyTo: '3EB0ABC' }, { correlationId: 'corr-9' });
    expect(r.ok && r.command).toMatchObject({ requestId: 'corr-9', replyTo: '3EB0ABC', toJid: '221770000001@s.whatsapp.net' });
  });

  it('media: url, base64 (data URLs give the MIME type) and mediaKey', () => {
    const img = send({ to: '+221770000001', type: 'image', url: 'https://example.com/a.jpg', caption: 'look' });
    expect(img.ok && img.command.action === 'send_message' && img.command.message).toEqual({
      type: 'image',
      media: { kind: 'url', url: 'https://example.com/a.jpg' },
      mimeType: undefined,
      caption: 'look',
      fileName: undefined,
      ptt: false,
    });
    const b64 = send({ to: '+221770000001', type: 'audio', base64: `data:audio/ogg;base64,${Buffer.from('voice').toString('base64')}`, ptt: true });
    expect(b64.ok && b64.command.action === 'send_message' && b64.command.message).toMatchObject({
      type: 'audio',
      mimeType: 'audio/ogg',
      ptt: true,
      media: { kind: 'base64', data: Buffer.from('voice') },
    });
    const doc = send({
      to: '+221770000001',
      type: 'document',
      mediaKey: 'media/session_6_~2B221/documents/3EB0AA.pdf',
      fileName: 'a.pdf',
      mimeType: 'application/pdf',
    });
    expect(doc.ok && doc.command.action === 'send_message' && doc.command.message).toMatchObject({
      type: 'document',
      media: { kind: 'mediaKey', key: 'media/session_6_~2B221/documents/3EB0AA.pdf' },
      fileName: 'a.pdf',
    });
  });

  it.each([
    [{ type: 'text', text: 'x' }, 'INVALID_COMMAND', /needs "to"/],
    [{ to: 'bob', type: 'text', text: 'x' }, 'INVALID_RECIPIENT', /neither a phone number/],
    [{ to: '221770000001:3@s.whatsapp.net', type: 'text', text: 'x' }, 'INVALID_RECIPIENT', /not a user/],
    [{ to: '12345@broadcast', type: 'text', text: 'x' }, 'INVALID_RECIPIENT', /not a user/],
    [{ to: '+221770000001', text: 'x' }, 'INVALID_COMMAND', /needs "type"/],
    [{ to: '+221770000001', type: 'gif', text: 'x' }, 'INVALID_COMMAND', /type/],
    [{ to: '+221770000001', type: 'text' }, 'INVALID_COMMAND', /needs a non-empty "text"/],
    [{ to: '+221770000001', type: 'text', text: 'x', url: 'https://a/b' }, 'INVALID_COMMAND', /takes no media/],
    [{ to: '+221770000001', type: 'image' }, 'INVALID_MEDIA', /needs one of "url", "base64" or "mediaKey"/],
    [{ to: '+221770000001', type: 'image', url: 'https://a/b', base64: 'AAAA' }, 'INVALID_MEDIA', /only one of/],
    [{ to: '+221770000001', type: 'image', url: 'ftp://a/b' }, 'INVALID_COMMAND', /url: an http/],
    [{ to: '+221770000001', type: 'image', base64: '!!!notbase64' }, 'INVALID_MEDIA', /not base64/],
    [{ to: '+221770000001', type: 'image', base64: 'A'.repeat(2000) }, 'MEDIA_TOO_LARGE', /1500 bytes, more than MEDIA_MAX_BYTES \(1000\)/],
    [{ to: '+221770000001', type: 'image', mediaKey: '../../etc/passwd' }, 'INVALID_MEDIA', /not a media store key/],
    [{ to: '+221770000001', type: 'document', url: 'https://a/b.pdf', mimeType: 'application/pdf' }, 'INVALID_COMMAND', /needs "fileName"/],
    [{ to: '+221770000001', type: 'document', url: 'https://a/b.pdf', fileName: 'b.pdf' }, 'INVALID_COMMAND', /needs "mimeType"/],
    [{ to: '+221770000001', type: 'audio', url: 'https://a/b', caption: 'c' }, 'INVALID_COMMAND', /takes no "caption"/],
    [{ to: '+221770000001', type: 'image', url: 'https://a/b', ptt: true }, 'INVALID_COMMAND', /only to type "audio"/],
  ])('refuses %j with %s', (data, code, reason) => {
    const r = send(data);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.reason).toMatch(reason);
    expect(r.hint).toMatchObject({ action: 'send_message', numberId: 6, requestId: 'req-1' });
  });

  it('needs a requestId (or correlation id): it is what makes a redelivery safe', () => {
    const r = parse({ action: 'send_message', numberId: 6, data: { to: '+221770000001', type: 'text', text: 'x' } });
    expect(r).toMatchObject({ ok: false, code: 'INVALID_COMMAND', reason: expect.stringMatching(/needs "requestId"/) });
  });

  it('a message event on the command queue is recognised as misrouted', () => {
    expect(parse({ action: 'message_received', numberId: 6 })).toMatchObject({ ok: false, code: 'MISROUTED_EVENT' });
  });
});
