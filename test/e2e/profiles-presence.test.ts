import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { JPEG_8x8, PNG_8x8 } from '../helpers/images.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * Contacts' presence and profiles, the account's own profile and its block list, end to end: the
 * real worker (real broker, real Baileys) against the emulator, which answers each IQ as
 * WhatsApp does and records what the account set.
 */
const ACCOUNT = '+221771230004';
const ALICE = '15550000401';
const BOB = '15550000402';

describe('presence and profiles over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async () => {
    scenario.workerQueue('pp1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '1500' },
      workerId: 'pp1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    return w;
  };

  const command = (w: TestWorker<WhatsAppConnector>, action: string, requestId: string, data: Record<string, unknown>, numberId = 24) =>
    scenario.probe.publish(w.config.queues.commands, { action, numberId, workerId: 'pp1', requestId, data });

  const link = async (w: TestWorker<WhatsAppConnector>) => {
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 24, workerId: 'pp1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  const answer = (action: string, requestId: string) => scenario.messages.untilAction(action, (e) => e.requestId === requestId, 20_000);

  beforeEach(async () => {
    emulator = await trustedEmulator();
    scenario = await brokerScenario('prof');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('subscribe_presence, then the contact types, records, goes online: presence_update for each change, a repeated state coalesced', async () => {
    emulator.addContact(ALICE);
    const w = await start();
    await link(w);
    await command(w, 'subscribe_presence', 'sub-1', { chat: `+${ALICE}` });
    expect(await answer('presence_subscribed', 'sub-1')).toMatchObject({ numberId: 24, chat: `+${ALICE}`, jid: `${ALICE}@s.whatsapp.net` });
    await emulator.until(() => (emulator.profiles.subscribers(ALICE) > 0 ? true : undefined), { what: 'the subscription' });
    // WhatsApp answers a subscription with the current presence (offline, last seen hidden).
    const updates = () => scenario.messages.bodies().filter((b) => b.action === 'presence_update');
    await scenario.messages.untilAction('presence_update', (e) => e.presence === 'unavailable', 20_000);

    emulator.contactPresence(ALICE, 'composing');
    emulator.contactPresence(ALICE, 'composing');
    emulator.contactPresence(ALICE, 'recording');
    await scenario.messages.untilAction('presence_update', (e) => e.presence === 'recording', 20_000);
    emulator.contactPresence(ALICE, 'unavailable', { lastSeen: 1_760_000_000 });
    const offline = await scenario.messages.untilAction('presence_update', (e) => e.lastSeen !== undefined, 20_000);
    expect(offline).toMatchObject({
      chat: `${ALICE}@s.whatsapp.net`,
      from: { pn: `${ALICE}@s.whatsapp.net` },
      presence: 'unavailable',
      lastSeen: 1_760_000_000_000,
    });
    expect(updates().map((u) => u.presence)).toEqual(['unavailable', 'composing', 'recording', 'unavailable']);
    expect(updates()[1]).toMatchObject({ numberId: 24, sessionId: `session_24_${ACCOUNT}`, chat: `${ALICE}@s.whatsapp.net` });
    expect(updates()[1].requestId).toBeUndefined();
  });

  it('by LID: presence comes from the LID the device subscribed with; get_profile answers for the LID', async () => {
    const alice = emulator.addContact(ALICE);
    emulator.setContactProfile(ALICE, { about: 'via lid' });
    const w = await start();
    await link(w);
    await command(w, 'subscribe_presence', 'sub-lid', { chat: alice.lid });
    expect(await answer('presence_subscribed', 'sub-lid')).toMatchObject({ chat: alice.lid, jid: alice.lid });
    await scenario.messages.untilAction('presence_update', (e) => e.chat === alice.lid && e.presence === 'unavailable', 20_000);
    emulator.contactPresence(ALICE, 'paused');
    // WhatsApp's paused is Baileys' "available".
    const paused = await scenario.messages.untilAction('presence_update', (e) => e.presence === 'available', 20_000);
    expect(paused).toMatchObject({ chat: alice.lid, from: { lid: alice.lid } });
    await command(w, 'get_profile', 'prof-lid', { chat: alice.lid });
    expect(await answer('profile_fetched', 'prof-lid')).toMatchObject({ chat: alice.lid, jid: alice.lid, about: 'via lid' });
  });

  it('get_profile: picture URL, about and business profile of a contact; nothing set or hidden is absent, not a failure', async () => {
    emulator.addContact(ALICE);
    emulator.addContact(BOB);
    emulator.setContactProfile(ALICE, {
      pictureUrl: 'https://pps.whatsapp.net/v/alice.jpg',
      about: 'At the shop 9-18',
      aboutSetAt: 1_750_000_000,
      business: { description: 'Fresh bread', category: 'Bakery', email: 'alice@example.com', website: 'https://alice.example', address: '1 Main St' },
    });
    emulator.setContactProfile(BOB, { pictureUrl: 'https://pps.whatsapp.net/v/bob.jpg', pictureHidden: true, aboutHidden: true, about: 'secret' });
    const w = await start();
    await link(w);

    await command(w, 'get_profile', 'prof-1', { chat: `+${ALICE}` });
    const alice = await answer('profile_fetched', 'prof-1');
    expect(alice).toMatchObject({
      chat: `+${ALICE}`,
      jid: `${ALICE}@s.whatsapp.net`,
      pictureUrl: 'https://pps.whatsapp.net/v/alice.jpg',
      about: 'At the shop 9-18',
      aboutSetAt: 1_750_000_000_000,
      business: { description: 'Fresh bread', category: 'Bakery', email: 'alice@example.com', website: ['https://alice.example'], address: '1 Main St' },
    });

    await command(w, 'get_profile', 'prof-2', { chat: `${BOB}@s.whatsapp.net` });
    const bob = await answer('profile_fetched', 'prof-2');
    expect(bob).toMatchObject({ chat: `${BOB}@s.whatsapp.net`, jid: `${BOB}@s.whatsapp.net` });
    expect([bob.pictureUrl, bob.about, bob.business]).toEqual([undefined, undefined, undefined]);
    expect(scenario.messages.bodies().filter((b) => b.action === 'profile_fetch_failed')).toEqual([]);
  });

  it('update_profile: about, picture and name reach WhatsApp (the emulator holds them); removePicture removes it', async () => {
    const w = await start();
    await link(w);
    await command(w, 'update_profile', 'upd-1', { about: 'Open 9-18', picture: { base64: JPEG_8x8.toString('base64') }, name: 'Helpdesk' });
    const done = await answer('profile_updated', 'upd-1');
    expect(done).toMatchObject({ updated: ['picture', 'about', 'name'] });
    const own = () => emulator.accountProfile(ACCOUNT);
    expect(own().about).toBe('Open 9-18');
    // Baileys resized it to WhatsApp's JPEG.
    expect(own().picture?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    await emulator.until(() => (own().name === 'Helpdesk' ? true : undefined), { what: 'the push name announced' });

    await command(w, 'update_profile', 'upd-2', { picture: { base64: `data:image/png;base64,${PNG_8x8.toString('base64')}` } });
    expect(await answer('profile_updated', 'upd-2')).toMatchObject({ updated: ['picture'] });
    await command(w, 'update_profile', 'upd-3', { removePicture: true });
    expect(await answer('profile_updated', 'upd-3')).toMatchObject({ updated: ['removePicture'] });
    expect(own().picture).toBeUndefined();
  });

  it("block puts the contact on the account's block list (by LID, with its phone), unblock takes it off", async () => {
    const alice = emulator.addContact(ALICE);
    const w = await start();
    await link(w);
    await command(w, 'block', 'blk-1', { chat: `+${ALICE}` });
    expect(await answer('block_status_changed', 'blk-1')).toMatchObject({ chat: `+${ALICE}`, jid: `${ALICE}@s.whatsapp.net`, blocked: true });
    expect(emulator.accountProfile(ACCOUNT).blocklist).toEqual([{ jid: alice.lid, pn: alice.jid }]);

    await command(w, 'unblock', 'blk-2', { chat: `+${ALICE}` });
    expect(await answer('block_status_changed', 'blk-2')).toMatchObject({ blocked: false });
    expect(emulator.accountProfile(ACCOUNT).blocklist).toEqual([]);
  });

  it('failures are answered: UNKNOWN_SESSION for a number not here, WHATSAPP_ERROR when WhatsApp refuses, a picture that is no image', async () => {
    emulator.addContact(ALICE);
    const w = await start();
    await command(w, 'get_profile', 'nobody-1', { chat: `+${ALICE}` }, 99);
    expect(await answer('profile_fetch_failed', 'nobody-1')).toMatchObject({ numberId: 99, code: 'UNKNOWN_SESSION', chat: `+${ALICE}` });
    await link(w);

    emulator.profiles.refuse('blocklist');
    await command(w, 'block', 'blk-x', { chat: `+${ALICE}` });
    expect(await answer('block_status_failed', 'blk-x')).toMatchObject({ code: 'WHATSAPP_ERROR', blocked: true, chat: `+${ALICE}` });
    expect(emulator.accountProfile(ACCOUNT).blocklist).toEqual([]);

    emulator.profiles.refuse('status');
    await command(w, 'update_profile', 'upd-x', { about: 'refused', picture: { base64: JPEG_8x8.toString('base64') } });
    const failed = await answer('profile_update_failed', 'upd-x');
    expect(failed).toMatchObject({ code: 'WHATSAPP_ERROR', requested: ['picture', 'about'], updated: ['picture'], failed: 'about' });
    expect(emulator.accountProfile(ACCOUNT).about).toBeUndefined();
    expect(emulator.accountProfile(ACCOUNT).picture).toBeDefined();
    emulator.profiles.accept('status');
    await command(w, 'update_profile', 'upd-k', { about: 'kept', removePicture: true });
    expect(await answer('profile_updated', 'upd-k')).toMatchObject({ updated: ['removePicture', 'about'] });

    // A JPEG header on bytes no decoder takes: refused before anything changes.
    const broken = Buffer.concat([JPEG_8x8.subarray(0, 200), Buffer.alloc(64, 0x11)]);
    await command(w, 'update_profile', 'upd-y', { about: 'not this', picture: { base64: broken.toString('base64') } });
    expect(await answer('profile_update_failed', 'upd-y')).toMatchObject({ code: 'INVALID_MEDIA', updated: [], failed: 'picture' });
    expect(emulator.accountProfile(ACCOUNT)).toMatchObject({ about: 'kept', picture: undefined });
  });

  it('bad payloads are dead-lettered with their code and answered with command_rejected', async () => {
    const w = await start();
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await command(w, 'block', 'bad-group', { chat: '120363000000000001@g.us' });
    await command(w, 'get_profile', 'bad-phone', { chat: 'call me' });
    await command(w, 'update_profile', 'bad-about', { about: 'a'.repeat(140) });
    await command(w, 'update_profile', 'bad-picture', { picture: { base64: Buffer.from('GIF89a').toString('base64') } });
    await dlq.until((bs) => bs.length === 4, 20_000, 'four dead letters');
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 4 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string; code: string }) => [r.requestId, r.command, r.code]).sort()).toEqual([
      ['bad-about', 'update_profile', 'INVALID_COMMAND'],
      ['bad-group', 'block', 'INVALID_RECIPIENT'],
      ['bad-phone', 'get_profile', 'INVALID_PHONE'],
      ['bad-picture', 'update_profile', 'INVALID_MEDIA'],
    ]);
    const codes = dlq.messages.map((m) => (m.raw.properties.headers as Record<string, string>)['x-error-code']).sort();
    expect(codes).toEqual(['INVALID_COMMAND', 'INVALID_MEDIA', 'INVALID_PHONE', 'INVALID_RECIPIENT']);
    expect(emulator.accountProfile(ACCOUNT)).toEqual({ name: undefined, about: undefined, picture: undefined, blocklist: [] });
  });
});
