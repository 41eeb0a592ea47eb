import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeMessageContent } from '@whiskeysockets/baileys';
import { deriveMessageId } from '../../src/messaging/message-id.js';
import { LocalMediaStore } from '../../src/storage/local-media-store.js';
import { mediaPrefix } from '../../src/storage/media-store.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { receivedPoll, type Emulator } from '../emulator/index.js';

/**
 * The message kinds beyond text and media, end to end: the real worker (real broker, real
 * Baileys) sends locations, contact cards, polls, stickers and reactions, which the emulated
 * contact decrypts; the contact sends them back and message_received carries their fields; the
 * contact votes on a poll we sent and poll_vote names the options it chose.
 */
const ACCOUNT = '+221771230041';
const ALICE = '15550000141';
const BOB = '15550000142';
const SID = `session_41_${ACCOUNT}`;
const VCARD = `BEGIN:VCARD\nVERSION:3.0\nFN:Bob Example\nTEL;type=CELL;waid=${BOB}:+${BOB}\nEND:VCARD`;

describe('message kinds over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  let worker: TestWorker<WhatsAppConnector>;
  let mediaDir: string;

  const send = (requestId: string, data: Record<string, unknown>) =>
    scenario.probe.publish(worker.config.queues.commands, {
      action: 'send_message',
      numberId: 41,
      workerId: 'mk1',
      requestId,
      data: { to: `+${ALICE}`, ...data },
    });

  /** Sends, and resolves with what the contact received and decrypted. */
  const sendAndReceive = async (requestId: string, data: Record<string, unknown>) => {
    const received = emulator.waitForMessage(ALICE, { timeoutMs: 20_000 });
    await send(requestId, data);
    const got = await received;
    expect(got.id).toBe(deriveMessageId(SID, requestId));
    const sent = await scenario.messages.untilAction('message_sent', (e) => e.requestId === requestId, 20_000);
    expect(sent).toMatchObject({ messageId: got.id, type: data.type });
    return { got, content: normalizeMessageContent(got.message) };
  };

  beforeAll(async () => {
    emulator = await trustedEmulator();
    emulator.addContact(ALICE);
    emulator.addContact(BOB);
    scenario = await brokerScenario('kinds');
    mediaDir = mkdtempSync(join(tmpdir(), 'wa-kinds-'));
    scenario.workerQueue('mk1');
    worker = await startTestWorker({
      env: { ...scenario.env, MEDIA_MAX_BYTES: String(1024 * 1024) },
      workerId: 'mk1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
      messaging: { media: new LocalMediaStore(mediaDir) },
    });
    await scenario.probe.publish(worker.config.queues.commands, { action: 'create', numberId: 41, workerId: 'mk1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  }, 60_000);

  afterAll(async () => {
    await worker?.worker.stop(5000);
    await scenario?.probe.close();
    await emulator?.close();
    if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
  });

  it('location (a reply, with a mention), text with a mention, contact card, sticker and reaction reach the contact with their fields', async () => {
    const hello = await emulator.sendMessage(ALICE, ACCOUNT.slice(1), 'where are you?');
    await scenario.messages.untilAction('message_received', (e) => e.messageId === hello.id, 20_000);

    const location = await sendAndReceive('loc-1', {
      type: 'location',
      latitude: 14.6928,
      longitude: -17.4467,
      name: 'Dakar',
      address: 'Place de l’Indépendance',
      replyTo: hello.id,
      mentions: [`+${BOB}`],
    });
    expect(location.content?.locationMessage).toMatchObject({
      degreesLatitude: 14.6928,
      degreesLongitude: -17.4467,
      name: 'Dakar',
      address: 'Place de l’Indépendance',
    });
    expect(location.content?.locationMessage?.contextInfo).toMatchObject({ stanzaId: hello.id, mentionedJid: [`${BOB}@s.whatsapp.net`] });

    const text = await sendAndReceive('text-1', { type: 'text', text: `ask @${BOB}`, mentions: [`${BOB}@s.whatsapp.net`] });
    expect(text.content?.extendedTextMessage).toMatchObject({ text: `ask @${BOB}`, contextInfo: { mentionedJid: [`${BOB}@s.whatsapp.net`] } });

    const card = await sendAndReceive('card-1', { type: 'contact', contacts: [{ vcard: VCARD }] });
    expect(card.content?.contactMessage).toMatchObject({ displayName: 'Bob Example', vcard: VCARD });

    const sticker = randomBytes(3000);
    const stk = await sendAndReceive('stk-1', { type: 'sticker', base64: sticker.toString('base64') });
    expect(stk.content?.stickerMessage).toMatchObject({ mimetype: 'image/webp' });
    expect((await emulator.mediaOf(stk.got.message)).equals(sticker)).toBe(true);

    const reaction = await sendAndReceive('react-1', { type: 'reaction', messageId: hello.id, emoji: '👍' });
    expect(reaction.content?.reactionMessage).toMatchObject({ text: '👍', key: { id: hello.id, fromMe: false } });
  });

  it('what the contact sends (location, contact cards, poll, sticker) arrives as message_received with its fields', async () => {
    const account = ACCOUNT.slice(1);
    const loc = await emulator.sendMessage(ALICE, account, {
      locationMessage: { degreesLatitude: 48.8584, degreesLongitude: 2.2945, name: 'Tour Eiffel', address: 'Paris' },
    });
    const cards = await emulator.sendMessage(ALICE, account, {
      contactsArrayMessage: {
        displayName: '2 contacts',
        contacts: [
          { displayName: 'Bob Example', vcard: VCARD },
          { displayName: 'Ann', vcard: 'BEGIN:VCARD\nFN:Ann\nEND:VCARD' },
        ],
      },
    });
    const poll = await emulator.sendMessage(ALICE, account, {
      messageContextInfo: { messageSecret: randomBytes(32) },
      pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Rice' }, { optionName: 'Fish' }], selectableOptionsCount: 1 },
    });
    const stickerBytes = randomBytes(2000);
    const sticker = await emulator.sendMedia(ALICE, account, { kind: 'sticker', bytes: stickerBytes, mimeType: 'image/webp' });

    const received = (id: string) => scenario.messages.untilAction('message_received', (e) => e.messageId === id, 20_000);
    expect(await received(loc.id)).toMatchObject({
      type: 'location',
      text: 'Tour Eiffel',
      location: { latitude: 48.8584, longitude: 2.2945, name: 'Tour Eiffel', address: 'Paris' },
    });
    expect(await received(cards.id)).toMatchObject({
      type: 'contact',
      contacts: [
        { displayName: 'Bob Example', vcard: VCARD },
        { displayName: 'Ann', vcard: 'BEGIN:VCARD\nFN:Ann\nEND:VCARD' },
      ],
    });
    expect(await received(poll.id)).toMatchObject({ type: 'poll', text: 'Lunch?', poll: { name: 'Lunch?', options: ['Rice', 'Fish'], selectableCount: 1 } });
    const stk = await received(sticker.id);
    expect(stk).toMatchObject({ type: 'sticker', media: { mimeType: 'image/webp', size: stickerBytes.length } });
    expect(stk.media.key.startsWith(`${mediaPrefix(SID)}stickers/`)).toBe(true);
  });

  it('the contact votes on a poll we sent: poll_vote names the options it chose; a withdrawn vote has none', async () => {
    const { got, content } = await sendAndReceive('poll-1', {
      type: 'poll',
      name: 'Meeting day?',
      options: ['Monday', 'Tuesday', 'Friday'],
      selectableCount: 0,
    });
    expect(content?.pollCreationMessage).toMatchObject({ name: 'Meeting day?', selectableOptionsCount: 0 });
    const poll = receivedPoll(got);
    expect(poll.options).toEqual(['Monday', 'Tuesday', 'Friday']);
    expect(poll.secret).toHaveLength(32);

    const vote = await emulator.sendPollVote(ALICE, got, ['Friday', 'Monday']);
    const event = await scenario.messages.untilAction('poll_vote', (e) => e.messageId === vote.id, 20_000);
    expect(event).toMatchObject({
      sessionId: SID,
      pollMessageId: got.id,
      selectedOptions: ['Monday', 'Friday'],
      voter: { pn: `${ALICE}@s.whatsapp.net` },
    });
    expect(typeof event.votedAt).toBe('number');

    const withdrawn = await emulator.sendPollVote(ALICE, got, []);
    const second = await scenario.messages.untilAction('poll_vote', (e) => e.messageId === withdrawn.id, 20_000);
    expect(second).toMatchObject({ pollMessageId: got.id, selectedOptions: [] });
    // Votes are not messages: no message_received for them.
    expect(scenario.messages.bodies().filter((b) => b.action === 'message_received' && [vote.id, withdrawn.id].includes(b.messageId))).toEqual([]);
    // Each vote acknowledged to WhatsApp once its poll_vote was confirmed.
    await emulator.until(() => (emulator.state().accounts.find((a) => a.phone === ACCOUNT.slice(1))?.unacked === 0 ? true : undefined), {
      what: 'every message acknowledged',
    });
  });

  it('bad kinds are dead-lettered with their code and answered with command_rejected', async () => {
    const dlq = await scenario.probe.collect(worker.config.queues.deadLetter, { declare: false });
    await send('bad-poll', { type: 'poll', name: 'q', options: ['only one'] });
    await send('bad-loc', { type: 'location', latitude: 123, longitude: 0 });
    await send('bad-react', { type: 'reaction', messageId: '3EB0ABC', emoji: '👍', replyTo: '3EB0FF' });
    await send('bad-mention', { type: 'text', text: 'hi', mentions: ['nobody'] });
    await dlq.until((bs) => bs.length === 4, 20_000, 'four dead letters');
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected' && String(b.requestId).startsWith('bad-'));
      return r.length === 4 && r;
    });
    expect(rejected.map((r: { requestId: string; code: string }) => [r.requestId, r.code]).sort()).toEqual([
      ['bad-loc', 'INVALID_COMMAND'],
      ['bad-mention', 'INVALID_RECIPIENT'],
      ['bad-poll', 'INVALID_COMMAND'],
      ['bad-react', 'INVALID_COMMAND'],
    ]);
  });
});
