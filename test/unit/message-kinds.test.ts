import { createHash } from 'node:crypto';
import type { OutgoingMessage, SendMessageCommand, SessionCommand } from '../../src/commands/command.js';
import { stableEventId } from '../../src/events/event-publisher.js';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { selectedOptionNames } from '../../src/messaging/sent-polls.js';
import { BlobPollArchive, type PollArchive } from '../../src/messaging/poll-archive.js';
import { objectKeys } from '../../src/storage/object-keys.js';
import { MemoryBlobStore } from '../fakes/blob-stores.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import { WorkerError } from '../../src/util/errors.js';
import type { IncomingMessage, OutgoingContent } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { silentLogger } from '../helpers/silent-logger.js';
import { waitFor } from '../helpers/wait.js';

/** The session side of the new kinds, on the fake WhatsApp boundary: what goes out, what comes in, poll votes. */
const SID = 'session_6_+221771234567';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create: SessionCommand = { ...base, action: 'create', requestId: 'req-create' };
const send = (requestId: string, message: OutgoingMessage, extra: Partial<SendMessageCommand> = {}): SendMessageCommand => ({
  ...base,
  action: 'send_message',
  requestId,
  to: '+221770000001',
  toJid: '221770000001@s.whatsapp.net',
  message,
  replyTo: undefined,
  ...extra,
});
const POLL: OutgoingMessage = { type: 'poll', name: 'Lunch?', options: ['Rice', 'Fish', 'Both'], selectableCount: 0 };
const sha = (s: string) => createHash('sha256').update(s).digest();

async function connected(polls?: PollArchive) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const deps: SessionDeps = {
    workerId: 'w1',
    connector,
    store: new MemorySessionStore(),
    events,
    logger: silentLogger,
    renderQr: async (qr) => qr,
    policy: {
      reconnectBaseDelayMs: 5,
      reconnectMaxDelayMs: 20,
      maxConflicts: 3,
      conflictWindowMs: 60_000,
      qrTimeoutMs: undefined,
      pairingReadyTimeoutMs: 1000,
    },
    messaging: { sendWaitForOpenMs: 2000, mediaMaxBytes: 1024, ...(polls ? { polls } : {}) },
  };
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  await manager.execute(create);
  const socket = connector.latest(SID)!;
  socket.open('221771234567');
  await events.until(() => events.actions().includes('connected'));
  return { manager, socket, events };
}

const incoming = (id: string, extra: Partial<IncomingMessage>): Omit<IncomingMessage, 'acknowledge'> => ({
  id,
  chat: '111111111111111@lid',
  isGroup: false,
  from: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' },
  sentAt: 1_733_396_400_000,
  type: 'other',
  ...extra,
});

/** A vote as the boundary hands it: it decrypts only with `secret`, to the hashes of `chosen`. */
const vote = (pollMessageId: string, secret: Buffer, chosen: string[]): IncomingMessage['pollVote'] => ({
  pollMessageId,
  pollChat: '111111111111111@lid',
  votedAt: 1_733_396_500_000,
  decrypt: (key) => (key.equals(secret) ? chosen.map(sha) : undefined),
});

const pollSecretOf = (content: OutgoingContent | undefined): Buffer => {
  if (content?.type !== 'poll') throw new Error('not a poll');
  return content.messageSecret;
};

describe('new kinds: sending', () => {
  it('location, contact, sticker and poll go to the boundary as such; mentions and replyTo ride along; message_sent names the type', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(
      send('loc', { type: 'location', latitude: 14.7, longitude: -17.4, name: 'Dakar', address: undefined }, { mentions: ['221770000002@s.whatsapp.net'] }),
    );
    const card = { displayName: 'Ann', vcard: 'BEGIN:VCARD\nFN:Ann\nEND:VCARD' };
    await manager.execute(send('card', { type: 'contact', contacts: [card] }, { replyTo: 'IN1' }));
    await manager.execute(
      send('stk', {
        type: 'sticker',
        media: { kind: 'base64', data: Buffer.from('RIFF') },
        mimeType: 'image/webp',
        caption: undefined,
        fileName: undefined,
        ptt: false,
      }),
    );
    await manager.execute(send('poll', POLL));
    const [loc, contact, sticker, poll] = socket.sends;
    expect(loc).toEqual({
      jid: '221770000001@s.whatsapp.net',
      content: { type: 'location', latitude: 14.7, longitude: -17.4, name: 'Dakar', address: undefined },
      opts: { messageId: deriveMessageId(SID, 'loc'), mentions: ['221770000002@s.whatsapp.net'] },
    });
    expect(contact?.content).toEqual({ type: 'contact', contacts: [card] });
    expect(contact?.opts.quoted).toEqual({ id: 'IN1', fromMe: false });
    expect(sticker?.content).toMatchObject({ type: 'sticker', media: { buffer: Buffer.from('RIFF') }, mimeType: 'image/webp' });
    expect(poll?.content).toMatchObject({ type: 'poll', name: 'Lunch?', options: ['Rice', 'Fish', 'Both'], selectableCount: 0 });
    expect(pollSecretOf(poll?.content)).toHaveLength(32);
    expect(events.messages('message_sent').map((e) => e.type)).toEqual(['location', 'contact', 'sticker', 'poll']);
  });

  it('a reaction targets the message by id in the chat; fromMe comes from what the worker remembers unless the command says', async () => {
    const { manager, socket } = await connected();
    await manager.execute(send('t1', { type: 'text', text: 'ours' }));
    const ours = deriveMessageId(SID, 't1');
    const react = (requestId: string, messageId: string, fromMe?: boolean) =>
      manager.execute(send(requestId, { type: 'reaction', messageId, emoji: '👍', fromMe, participant: undefined }));
    await react('r1', ours);
    await react('r2', 'THEIRS1');
    await react('r3', 'OTHER1', true);
    expect(socket.sends.slice(1).map((s) => s.content)).toEqual([
      { type: 'reaction', emoji: '👍', target: { id: ours, fromMe: true } },
      { type: 'reaction', emoji: '👍', target: { id: 'THEIRS1', fromMe: false } },
      { type: 'reaction', emoji: '👍', target: { id: 'OTHER1', fromMe: true } },
    ]);
  });
});

describe('new kinds: receiving', () => {
  it('location, contacts and poll creations are published with their fields', async () => {
    const { socket, events } = await connected();
    socket.receive([
      incoming('L1', {
        type: 'location',
        text: 'Dakar',
        location: { latitude: 14.7, longitude: -17.4, name: 'Dakar' },
        mentions: ['221770000009@s.whatsapp.net'],
      }),
      incoming('C1', { type: 'contact', text: 'Ann', contacts: [{ displayName: 'Ann', vcard: 'BEGIN:VCARD\nFN:Ann\nEND:VCARD' }], replyTo: 'X1' }),
      incoming('P1', { type: 'poll', text: 'Lunch?', poll: { name: 'Lunch?', options: ['Rice', 'Fish'], selectableCount: 1 } }),
    ]);
    await events.until(() => events.messages('message_received').length === 3);
    const [l1, c1, p1] = events.messages('message_received');
    expect(l1).toMatchObject({ type: 'location', location: { latitude: 14.7, longitude: -17.4, name: 'Dakar' }, mentions: ['221770000009@s.whatsapp.net'] });
    expect(c1).toMatchObject({ type: 'contact', contacts: [{ displayName: 'Ann', vcard: 'BEGIN:VCARD\nFN:Ann\nEND:VCARD' }], replyTo: 'X1' });
    expect(p1).toMatchObject({ type: 'poll', poll: { name: 'Lunch?', options: ['Rice', 'Fish'], selectableCount: 1 } });
    await waitFor(() => socket.acknowledged.length === 3, 'three receipts');
  });
});

describe('poll votes', () => {
  it('a vote on a poll we sent: poll_vote with the option names (poll order), receipted only once confirmed, eventId stable per vote message', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(send('poll', POLL));
    const pollId = deriveMessageId(SID, 'poll');
    const secret = pollSecretOf(socket.sends[0]?.content);
    let open!: () => void;
    events.messageGate = new Promise<void>((resolve) => (open = resolve));
    socket.receive([incoming('V1', { pollVote: vote(pollId, secret, ['Both', 'Rice']) })]);
    await events.until(() => events.heldAtGate === 1);
    expect(socket.acknowledged).toEqual([]);
    events.messageGate = undefined;
    open();
    await waitFor(() => socket.acknowledged.length === 1, 'the vote receipted');
    const [v1] = events.messages('poll_vote');
    expect(v1).toMatchObject({
      messageId: 'V1',
      pollMessageId: pollId,
      chat: '111111111111111@lid',
      voter: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' },
      selectedOptions: ['Rice', 'Both'],
      votedAt: 1_733_396_500_000,
    });
    expect(v1?.eventId).toBe(stableEventId(`poll_vote\u0000${SID}\u0000111111111111111@lid\u0000V1`));
    expect(events.messages('message_received')).toEqual([]);

    // Withdrawn: an empty selection. A redelivered vote message is receipted, not published twice.
    socket.receive([incoming('V2', { pollVote: vote(pollId, secret, []) }), incoming('V1', { pollVote: vote(pollId, secret, ['Both']) })]);
    await waitFor(() => socket.acknowledged.length === 3, 'three receipts');
    expect(events.messages('poll_vote').map((e) => [e.messageId, e.selectedOptions])).toEqual([
      ['V1', ['Rice', 'Both']],
      ['V2', []],
    ]);
  });

  it('a vote whose event is not published is not receipted (WhatsApp redelivers it) and is published on redelivery with the same eventId', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(send('poll', POLL));
    const pollId = deriveMessageId(SID, 'poll');
    const secret = pollSecretOf(socket.sends[0]?.content);
    events.failNextMessage = new WorkerError('UNPUBLISHABLE', 'refused');
    socket.receive([incoming('V1', { pollVote: vote(pollId, secret, ['Fish']) })]);
    socket.receive([incoming('V2', { pollVote: vote(pollId, secret, ['Rice']) })]);
    await waitFor(() => socket.acknowledged.length === 1, 'V2 receipted');
    expect(socket.acknowledged).toEqual(['V2']);
    socket.receive([incoming('V1', { pollVote: vote(pollId, secret, ['Fish']) })], true);
    await waitFor(() => socket.acknowledged.length === 2, 'V1 receipted');
    expect(events.messages('poll_vote').map((e) => [e.messageId, e.selectedOptions])).toEqual([
      ['V2', ['Rice']],
      ['V1', ['Fish']],
    ]);
  });

  it('a vote on a poll we do not know, or that does not decrypt with its secret, is dropped (receipted, no event)', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(send('poll', POLL));
    const pollId = deriveMessageId(SID, 'poll');
    socket.receive([
      incoming('U1', { pollVote: vote('3EB0UNKNOWNPOLL', Buffer.alloc(32), ['Rice']) }),
      incoming('U2', { pollVote: vote(pollId, Buffer.alloc(32, 7), ['Rice']) }),
    ]);
    await waitFor(() => socket.acknowledged.length === 2, 'both receipted');
    expect(events.messages('poll_vote')).toEqual([]);
    expect(events.messages('message_received')).toEqual([]);
  });

  it('option names: hashes that match no option (forged) are left out', () => {
    const poll = { options: ['a', 'b', 'c'], secret: Buffer.alloc(32) };
    expect(selectedOptionNames(poll, [sha('c'), sha('zzz'), sha('a')])).toEqual(['a', 'c']);
    expect(selectedOptionNames(poll, [])).toEqual([]);
  });
});

describe('poll votes across restarts (the poll archive)', () => {
  const codec = {
    encode: (b: Buffer, ctx: string) => Buffer.concat([Buffer.from(`ENC(${ctx})`), b]),
    decode: (b: Buffer, ctx: string) => ({ data: b.subarray(`ENC(${ctx})`.length) }),
  };

  it('the archive keeps a poll (encoded, under the session) and gives it back; an id that cannot be ours, or a damaged object, is no poll', async () => {
    const blobs = new MemoryBlobStore();
    const archive = new BlobPollArchive(blobs, codec);
    const secret = Buffer.alloc(32, 9);
    await archive.save(SID, '3EB0POLL', { options: ['a', 'b'], secret });
    const key = objectKeys.poll(SID, '3EB0POLL');
    expect(key).toBe(`${objectKeys.session(SID)}polls/3EB0POLL`);
    expect(blobs.objects.get(key)?.subarray(0, 4).toString()).toBe('ENC(');
    expect(await archive.load(SID, '3EB0POLL')).toEqual({ options: ['a', 'b'], secret });
    expect(await archive.load('session_7_+221771234567', '3EB0POLL')).toBeUndefined();
    expect(await archive.load(SID, '../../auth/creds')).toBeUndefined();
    await blobs.put(key, codec.encode(Buffer.from(JSON.stringify({ v: 1, options: ['a'], secret: 'c2hvcnQ=' })), key));
    expect(await archive.load(SID, '3EB0POLL')).toBeUndefined();
    await blobs.put(key, Buffer.from('not encoded'));
    expect(await archive.load(SID, '3EB0POLL')).toBeUndefined();
  });

  it('a vote that arrives after a restart is read with the archived secret; a resend after a crash reuses the first secret', async () => {
    const archive = new BlobPollArchive(new MemoryBlobStore(), codec);
    const first = await connected(archive);
    // Archived before WhatsApp takes it: a crash right after the send still leaves the secret.
    let archivedAtSend: unknown;
    const fakeSend = first.socket.sendMessage.bind(first.socket);
    first.socket.sendMessage = async (jid, content, opts) => {
      archivedAtSend = await archive.load(SID, opts.messageId);
      return fakeSend(jid, content, opts);
    };
    await first.manager.execute(send('poll', POLL));
    const pollId = deriveMessageId(SID, 'poll');
    const secret = pollSecretOf(first.socket.sends[0]?.content);
    expect(archivedAtSend).toEqual({ options: POLL.type === 'poll' ? POLL.options : [], secret });
    await first.manager.shutdown();

    const second = await connected(archive);
    await second.manager.execute(send('poll', POLL)); // the command redelivered after the crash
    expect(pollSecretOf(second.socket.sends[0]?.content).equals(secret)).toBe(true);
    second.socket.receive([incoming('V9', { pollVote: vote(pollId, secret, ['Fish']) })]);
    await waitFor(() => second.socket.acknowledged.length === 1, 'the vote receipted');
    expect(second.events.messages('poll_vote')).toEqual([expect.objectContaining({ messageId: 'V9', pollMessageId: pollId, selectedOptions: ['Fish'] })]);
  });

  it('storage failing while a vote looks for its poll: no event and no receipt (WhatsApp delivers it again)', async () => {
    const archive: PollArchive = {
      save: async () => undefined,
      load: async () => {
        throw new WorkerError('STORAGE_UNAVAILABLE', 'storage down');
      },
    };
    const { socket, events } = await connected(archive);
    socket.receive([incoming('V1', { pollVote: vote('3EB0SOMEPOLL', Buffer.alloc(32), ['Rice']) }), incoming('T1', { type: 'text', text: 'after' })]);
    socket.receive([incoming('T2', { type: 'text', text: 'next' })]);
    await waitFor(() => socket.acknowledged.includes('T2'), 'the next message receipted');
    expect(socket.acknowledged).not.toContain('V1');
    expect(events.messages('poll_vote')).toEqual([]);
  });
});
