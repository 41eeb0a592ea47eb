import { parseCommand } from '../../src/commands/parse-command.js';

const limits = { maxBytes: 1024 * 1024, maxMediaBytes: 1000 };
const send = (data: Record<string, unknown>) =>
  parseCommand(Buffer.from(JSON.stringify({ action: 'send_message', numberId: 6, workerId: '1', requestId: 'req-1', data })), {}, limits);

describe('parseCommand: send_message media url', () => {
  it.each([
    'https://alice:hunter2@media.example.com/a.jpg',
    'http://alice@media.example.com/a.jpg',
    'https://:hunter2@media.example.com/a.jpg',
    'HTTP://alice:hunter2@127.0.0.1:8080/a.jpg',
  ])('%s: credentials are refused at once (INVALID_MEDIA), without echoing them', (url) => {
    const r = send({ to: '+221770000001', type: 'image', url });
    expect(r).toMatchObject({ ok: false, code: 'INVALID_MEDIA', reason: expect.stringMatching(/"url" must not carry credentials/) });
    expect(!r.ok && r.reason).not.toMatch(/alice|hunter2/);
  });

  it('a URL without credentials is accepted as it is (the address is checked when it is fetched)', () => {
    const r = send({ to: '+221770000001', type: 'image', url: 'https://media.example.com/a.jpg?sig=abc@def' });
    expect(r.ok && r.command.action === 'send_message' && r.command.message).toMatchObject({
      media: { kind: 'url', url: 'https://media.example.com/a.jpg?sig=abc@def' },
    });
  });

  it('a URL that does not parse is INVALID_MEDIA', () => {
    expect(send({ to: '+221770000001', type: 'image', url: 'http://exa mple.com/a.jpg' })).toMatchObject({
      ok: false,
      code: 'INVALID_MEDIA',
      reason: '"url" is not a valid URL',
    });
  });
});
