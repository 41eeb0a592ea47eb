import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import type {
  BlockCommand,
  GetProfileCommand,
  ProfileChanges,
  SessionCommand,
  SubscribePresenceCommand,
  UpdateProfileCommand,
} from '../../src/commands/command.js';
import { PresenceRelay } from '../../src/messaging/presence-relay.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import { mediaPrefix } from '../../src/storage/media-store.js';
import { WorkerError } from '../../src/util/errors.js';
import type { ContactPresence } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemoryMediaStore } from '../fakes/memory-media-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { JPEG_8x8, PNG_8x8 } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';
import { testSessionDeps } from '../fakes/session-deps.js';

const SID = 'session_6_+221771234567';
const ALICE = '221770000001@s.whatsapp.net';
const base = { numberId: 6, phoneNumber: '+221771234567', sessionId: SID, workerId: 'w1', backendSessionId: undefined, issuedAt: undefined };
const create: SessionCommand = { ...base, action: 'create', requestId: 'req-create' };
const contact = { chat: '+221770000001', jid: ALICE };
const subscribe = (requestId: string): SubscribePresenceCommand => ({ ...base, ...contact, action: 'subscribe_presence', requestId });
const getProfile = (requestId: string, jid = ALICE): GetProfileCommand => ({ ...base, chat: jid, jid, action: 'get_profile', requestId });
const update = (requestId: string, changes: ProfileChanges): UpdateProfileCommand => ({ ...base, action: 'update_profile', requestId, changes });
const block = (requestId: string, action: 'block' | 'unblock' = 'block'): BlockCommand => ({ ...base, ...contact, action, requestId });
const unknown = { numberId: 99, sessionId: undefined };

async function connected(opts: { waitMs?: number; maxMediaBytes?: number } = {}) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const media = new MemoryMediaStore();
  const deps = testSessionDeps({
    connector,
    events,
    messaging: { media, sendWaitForOpenMs: opts.waitMs ?? 2000, mediaMaxBytes: opts.maxMediaBytes ?? 64 * 1024, mediaFetchAllowedHosts: [] },
  });
  const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
  await manager.execute(create);
  const socket = connector.latest(SID)!;
  socket.open('221771234567');
  await events.until(() => events.actions().includes('connected'));
  return { manager, socket, events, media };
}

const typing = (presence: ContactPresence['presence'], extra: Partial<ContactPresence> = {}): ContactPresence => ({
  chat: ALICE,
  from: { pn: ALICE },
  presence,
  ...extra,
});

describe('subscribe_presence and presence updates', () => {
  it("subscribes through WhatsApp and answers presence_subscribed; contacts' presence becomes presence_update, without requestId", async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(subscribe('sub-1'));
    expect(socket.presenceSubscriptions).toEqual([ALICE]);
    expect(events.messages('presence_subscribed')).toEqual([
      expect.objectContaining({ numberId: 6, sessionId: SID, requestId: 'sub-1', chat: '+221770000001', jid: ALICE }),
    ]);
    socket.presence([typing('composing'), typing('unavailable', { lastSeen: 1_760_000_000_000 })]);
    await waitFor(() => events.messages('presence_update').length === 2, 'two presence updates');
    const [composing, offline] = events.messages('presence_update');
    expect(composing).toMatchObject({ sessionId: SID, chat: ALICE, from: { pn: ALICE }, presence: 'composing' });
    expect(composing).not.toHaveProperty('lastSeen');
    expect(composing!.requestId).toBeUndefined();
    expect(offline).toMatchObject({ presence: 'unavailable', lastSeen: 1_760_000_000_000 });
  });

  it('a repeated state is coalesced: only changes are published, per chat and contact', async () => {
    const { socket, events } = await connected();
    const bob = '221770000002@s.whatsapp.net';
    socket.presence([
      typing('composing'),
      typing('composing'),
      { chat: bob, from: { pn: bob }, presence: 'composing' },
      typing('composing'),
      typing('available'),
    ]);
    await waitFor(() => events.messages('presence_update').length === 3, 'three presence updates');
    expect(events.messages('presence_update').map((e) => [e.chat, e.presence])).toEqual([
      [ALICE, 'composing'],
      [bob, 'composing'],
      [ALICE, 'available'],
    ]);
  });

  it('answered with presence_subscribe_failed: unknown session, WhatsApp failing, not connected', async () => {
    const { manager, socket, events } = await connected({ waitMs: 50 });
    await manager.execute({ ...subscribe('s-unknown'), ...unknown });
    socket.failNextProfile = new Error('socket write failed');
    await manager.execute(subscribe('s-wa'));
    socket.close(428, 'dropped');
    await manager.execute(subscribe('s-late'));
    expect(events.messages('presence_subscribe_failed').map((e) => [e.requestId, e.code, e.chat])).toEqual([
      ['s-unknown', 'UNKNOWN_SESSION', '+221770000001'],
      ['s-wa', 'WHATSAPP_ERROR', '+221770000001'],
      ['s-late', 'NOT_CONNECTED', '+221770000001'],
    ]);
    expect(events.messages('presence_subscribed')).toEqual([]);
  });
});

describe('PresenceRelay: a flapping contact cannot flood the broker', () => {
  afterEach(() => jest.useRealTimers());

  it('at most perSecond a second; the rest wait for the next second, each chat with its latest state only', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const published: ContactPresence[] = [];
    const relay = new PresenceRelay((u) => published.push(u), { perSecond: 2 });
    const chat = (n: number) => `22177000000${n}@s.whatsapp.net`;
    const flap = (n: number, presence: ContactPresence['presence']) => relay.offer({ chat: chat(n), from: { pn: chat(n) }, presence });
    for (let i = 0; i <= 50; i++) flap(1, i % 2 ? 'available' : 'unavailable');
    flap(2, 'composing');
    flap(3, 'composing');
    // The first two states went out; of the 49 others only chat 1's latest waits, then chats 2 and 3.
    expect(published.map((u) => [u.chat, u.presence])).toEqual([
      [chat(1), 'unavailable'],
      [chat(1), 'available'],
    ]);
    expect(relay.waiting).toBe(3);
    jest.advanceTimersByTime(1000);
    expect(published).toHaveLength(4);
    jest.advanceTimersByTime(1000);
    expect(published.slice(2).map((u) => [u.chat, u.presence])).toEqual([
      [chat(1), 'unavailable'],
      [chat(2), 'composing'],
      [chat(3), 'composing'],
    ]);
    expect(relay.waiting).toBe(0);
    relay.stop();
  });

  it('a state equal to the last published one is dropped, also while it waits; stop drops what waits', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const published: ContactPresence[] = [];
    const relay = new PresenceRelay((u) => published.push(u), { perSecond: 1 });
    relay.offer(typing('composing'));
    relay.offer(typing('available'));
    relay.offer(typing('composing'));
    // "available" was replaced by "composing", which equals what was published: nothing waits.
    expect(relay.waiting).toBe(0);
    relay.offer(typing('recording'));
    relay.stop();
    jest.advanceTimersByTime(5000);
    expect(published.map((u) => u.presence)).toEqual(['composing']);
    expect(relay.waiting).toBe(0);
  });
});

describe('get_profile', () => {
  it('answers profile_fetched with what WhatsApp tells; nothing set is no failure', async () => {
    const { manager, socket, events } = await connected();
    socket.profiles.set(ALICE, {
      pictureUrl: 'https://pps.whatsapp.net/a.jpg',
      about: 'Hello',
      aboutSetAt: 1_750_000_000_000,
      business: { description: 'Bread', website: ['https://a.example'], category: 'Bakery' },
    });
    await manager.execute(getProfile('p-1'));
    await manager.execute(getProfile('p-2', '123456789012345@lid'));
    const [alice, lid] = events.messages('profile_fetched');
    expect(alice).toMatchObject({
      requestId: 'p-1',
      chat: ALICE,
      jid: ALICE,
      pictureUrl: 'https://pps.whatsapp.net/a.jpg',
      about: 'Hello',
      aboutSetAt: 1_750_000_000_000,
      business: { description: 'Bread', website: ['https://a.example'], category: 'Bakery' },
    });
    expect(lid).toEqual(expect.objectContaining({ requestId: 'p-2', chat: '123456789012345@lid', jid: '123456789012345@lid' }));
    expect(Object.keys(lid!)).not.toContain('pictureUrl');
  });

  it('answered with profile_fetch_failed: unknown session, WhatsApp failing', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute({ ...getProfile('p-unknown'), ...unknown });
    socket.failNextProfile = new Error('timed out');
    await manager.execute(getProfile('p-wa'));
    expect(events.messages('profile_fetch_failed').map((e) => [e.requestId, e.code, e.jid])).toEqual([
      ['p-unknown', 'UNKNOWN_SESSION', ALICE],
      ['p-wa', 'WHATSAPP_ERROR', ALICE],
    ]);
  });
});

describe('update_profile', () => {
  it('applies picture, about, name in that order and answers profile_updated with them', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(update('u-1', { name: 'Helpdesk', about: 'Open', picture: { kind: 'base64', data: JPEG_8x8 } }));
    expect(socket.profileChanges).toEqual([
      { field: 'picture', value: JPEG_8x8 },
      { field: 'about', value: 'Open' },
      { field: 'name', value: 'Helpdesk' },
    ]);
    expect(events.messages('profile_updated')).toEqual([expect.objectContaining({ requestId: 'u-1', updated: ['picture', 'about', 'name'] })]);
    await manager.execute(update('u-2', { removePicture: true, about: '' }));
    expect(socket.profileChanges.slice(3)).toEqual([
      { field: 'picture', value: undefined },
      { field: 'about', value: '' },
    ]);
    expect(events.messages('profile_updated')[1]).toMatchObject({ updated: ['removePicture', 'about'] });
  });

  it('a picture from the media store (own session only) is read whole and checked', async () => {
    const { manager, socket, events, media } = await connected();
    const key = `${mediaPrefix(SID)}images/pic.png`;
    media.files.set(key, { body: PNG_8x8, contentType: 'image/png' });
    await manager.execute(update('u-key', { picture: { kind: 'mediaKey', key } }));
    expect(socket.profileChanges).toEqual([{ field: 'picture', value: PNG_8x8 }]);
    const other = `${mediaPrefix('session_7_+221770000009')}images/pic.png`;
    media.files.set(other, { body: PNG_8x8, contentType: 'image/png' });
    await manager.execute(update('u-other', { picture: { kind: 'mediaKey', key: other } }));
    await manager.execute(update('u-missing', { picture: { kind: 'mediaKey', key: `${mediaPrefix(SID)}images/none.png` } }));
    const notImage = `${mediaPrefix(SID)}documents/a.pdf`;
    media.files.set(notImage, { body: Buffer.from('%PDF-1.4'), contentType: 'application/pdf' });
    await manager.execute(update('u-pdf', { about: 'unchanged', picture: { kind: 'mediaKey', key: notImage } }));
    expect(events.messages('profile_update_failed').map((e) => [e.requestId, e.code, e.updated, e.failed])).toEqual([
      ['u-other', 'INVALID_MEDIA', [], 'picture'],
      ['u-missing', 'MEDIA_NOT_FOUND', [], 'picture'],
      ['u-pdf', 'INVALID_MEDIA', [], 'picture'],
    ]);
    expect(socket.profileChanges).toHaveLength(1);
  });

  it('a picture url goes through the address policy (a private address is refused) and MEDIA_MAX_BYTES', async () => {
    const server = createServer((_req, res) => res.end(JPEG_8x8));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { manager, socket, events, media } = await connected({ maxMediaBytes: 100 });
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p.jpg`;
      await manager.execute(update('u-url', { picture: { kind: 'url', url } }));
      const key = `${mediaPrefix(SID)}images/big.jpg`;
      media.files.set(key, { body: JPEG_8x8, contentType: 'image/jpeg' });
      await manager.execute(update('u-big', { picture: { kind: 'mediaKey', key } }));
      expect(events.messages('profile_update_failed')).toEqual([
        expect.objectContaining({ requestId: 'u-url', code: 'MEDIA_UNAVAILABLE', reason: 'the media URL could not be fetched', failed: 'picture' }),
        expect.objectContaining({ requestId: 'u-big', code: 'MEDIA_TOO_LARGE', reason: expect.stringMatching(/MEDIA_MAX_BYTES \(100\)/), failed: 'picture' }),
      ]);
      expect(socket.profileChanges).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('a failure midway says what was changed and what failed; a decoder refusal is INVALID_MEDIA', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute({ ...update('u-unknown', { about: 'x', name: 'n' }), ...unknown });
    socket.failNextProfile = new WorkerError('INVALID_MEDIA', 'the picture could not be decoded: corrupt');
    await manager.execute(update('u-decode', { about: 'x', picture: { kind: 'base64', data: JPEG_8x8 } }));
    await manager.execute(update('u-ok', { about: 'first' }));
    const failing = update('u-name', { about: 'second', name: 'Helpdesk' });
    // The about goes through; the name (app state) fails.
    const original = socket.setProfileName.bind(socket);
    socket.setProfileName = async () => {
      throw new Error('App state key not present!');
    };
    await manager.execute(failing);
    socket.setProfileName = original;
    expect(events.messages('profile_update_failed').map((e) => [e.requestId, e.code, e.requested, e.updated, e.failed])).toEqual([
      ['u-unknown', 'UNKNOWN_SESSION', ['about', 'name'], [], undefined],
      ['u-decode', 'INVALID_MEDIA', ['picture', 'about'], [], 'picture'],
      ['u-name', 'WHATSAPP_ERROR', ['about', 'name'], ['about'], 'name'],
    ]);
    expect(events.messages('profile_update_failed')[2]!.reason).toMatch(/App state key not present/);
    expect(socket.profileChanges).toEqual([
      { field: 'about', value: 'first' },
      { field: 'about', value: 'second' },
    ]);
  });
});

describe('block and unblock', () => {
  it('block / unblock through WhatsApp, each answered block_status_changed', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute(block('b-1'));
    await manager.execute(block('b-2', 'unblock'));
    expect(socket.blockChanges).toEqual([
      { jid: ALICE, blocked: true },
      { jid: ALICE, blocked: false },
    ]);
    expect(events.messages('block_status_changed').map((e) => [e.requestId, e.chat, e.jid, e.blocked])).toEqual([
      ['b-1', '+221770000001', ALICE, true],
      ['b-2', '+221770000001', ALICE, false],
    ]);
  });

  it('answered with block_status_failed: unknown session, WhatsApp refusing', async () => {
    const { manager, socket, events } = await connected();
    await manager.execute({ ...block('b-unknown', 'unblock'), ...unknown });
    socket.failNextProfile = new Error('Unable to resolve LID for PN JID');
    await manager.execute(block('b-wa'));
    expect(events.messages('block_status_failed').map((e) => [e.requestId, e.code, e.blocked])).toEqual([
      ['b-unknown', 'UNKNOWN_SESSION', false],
      ['b-wa', 'WHATSAPP_ERROR', true],
    ]);
    expect(events.messages('block_status_changed')).toEqual([]);
  });
});
