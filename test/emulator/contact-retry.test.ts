/**
 * A worker killed between two Signal-store writes comes back with a rolled-back session and
 * encrypts with message keys the contact already used. A contact's phone answers such a message
 * with a retry receipt (with a fresh key bundle), and Baileys resends the same message id on a new
 * session. The rollback here is the real thing: the client's session entries are restored from a
 * snapshot taken one message earlier.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { proto, SignalDataSet, UserFacingSocketConfig } from '@whiskeysockets/baileys';
import { waitFor } from '../helpers/wait.js';
import { MAX_RETRY_RECEIPTS } from './contact-retry.js';
import { linkViaQr, quietLibsignal, trustEmulator } from './helpers.js';
import type { EmulatorServer } from './server.js';
import { startEmulator } from './server.js';
import type { MemoryAuth } from './test-client.js';
import { TestClient, unrefPrekeyUploadTimers } from './test-client.js';
import type { EmulatorState, ReceivedMessage } from './types.js';

const ACCOUNT = '491700000401';
/** what the chaos suite (scripts/chaos/emulator-log.ts) reads as "the contact could not decrypt it" */
const CHAOS_UNDECRYPTABLE = /^message (\S+): copy for (\S+) failed to decrypt/;

type Sessions = Map<string, unknown>;

/** A deep copy of the client's Signal sessions, as a store that loses its last writes would keep them. */
const snapshotSessions = (auth: MemoryAuth): Sessions =>
  new Map([...auth.data].filter(([k]) => k.startsWith('session:')).map(([k, v]) => [k, structuredClone(v)]));

/** Puts the older sessions back (and drops newer ones): what the worker reads after a SIGKILL. */
function restoreSessions(auth: MemoryAuth, snapshot: Sessions): void {
  for (const k of [...auth.data.keys()]) if (k.startsWith('session:')) auth.data.delete(k);
  for (const [k, v] of snapshot) auth.data.set(k, structuredClone(v));
}

/** libsignal reports each failed decrypt with console.error; here the contact's failures are the point. */
function quietExpectedDecryptErrors(): () => void {
  const { error } = console;
  const expected = (args: unknown[]): boolean =>
    typeof args[0] === 'string' && /^(Failed to decrypt message with any known session|Session error:MessageCounterError)/.test(args[0]);
  console.error = (...args: unknown[]) => {
    if (!expected(args)) error(...args);
  };
  return () => {
    console.error = error;
  };
}

const text = (m: ReceivedMessage): string | null | undefined => m.message.conversation ?? m.message.extendedTextMessage?.text;

describe('emulated contacts answer undecryptable messages with retry receipts', () => {
  let emu: EmulatorServer;
  let untrust: () => void;
  let loud: () => void;
  let loudErrors: () => void;
  let restoreTimers: () => void;
  let auth: MemoryAuth;
  const logs: string[] = [];
  const clients: TestClient[] = [];
  let nextContact = 1;

  const login = (extra: Partial<UserFacingSocketConfig> = {}, a: MemoryAuth = auth): TestClient => {
    const c = new TestClient(emu.url, a, extra);
    clients.push(c);
    return c;
  };
  const offline = async (c: TestClient): Promise<void> => {
    await c.end();
    await emu.waitForConnectionCount(0);
  };
  const contactState = (phone: string): EmulatorState['contacts'][number] => {
    const c = emu.state().contacts.find((x) => x.phone === phone);
    if (!c) throw new Error(`no contact ${phone}`);
    return c;
  };
  const newContact = (): { phone: string; pn: string; lid: string } => {
    const phone = `155500004${String(nextContact++).padStart(2, '0')}`;
    const { jid, lid } = emu.addContact(phone);
    return { phone, pn: jid, lid };
  };

  /**
   * One exchange (the account writes, the contact answers: the session is settled), snapshot, one
   * more message (the session moves on), then the snapshot is restored: the next message reuses
   * message keys the contact has already used.
   */
  async function rollBack(c: TestClient, phone: string, to: string): Promise<void> {
    const first = emu.waitForMessage(phone);
    await c.sock.sendMessage(to, { text: 'one' });
    await first;
    await emu.sendMessage(phone, ACCOUNT, `reply from ${phone}`);
    await c.received(`reply from ${phone}`);
    const before = snapshotSessions(auth);
    const second = emu.waitForMessage(phone);
    await c.sock.sendMessage(to, { text: 'two' });
    await second;
    restoreSessions(auth, before);
  }

  beforeAll(async () => {
    // Baileys may answer a contact message it cannot decrypt with a retry receipt with keys; the
    // prekey that uses up makes it upload more (30 s UPLOAD_TIMEOUT)
    restoreTimers = unrefPrekeyUploadTimers();
    loud = quietLibsignal();
    loudErrors = quietExpectedDecryptErrors();
    emu = await startEmulator({ skipPrekeyUpload: true, log: (msg) => logs.push(msg) });
    untrust = trustEmulator(emu);
    const linked = await linkViaQr(emu, ACCOUNT);
    auth = linked.auth;
    clients.push(linked.client);
    await offline(linked.client);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
    await emu.close();
    untrust();
    loud();
    loudErrors();
    restoreTimers();
  });

  // Baileys keys its recent-message cache by the JID the app passed to sendMessage (rc14 does not
  // normalise it), so the receipt comes from that JID: the contact's PN, or its LID
  it.each(['pn', 'lid'] as const)(
    'a message encrypted with a rolled-back session (addressed by %s) reaches the contact once, through a retry receipt',
    async (addressing) => {
      const contact = newContact();
      const to = contact[addressing];
      const c = login();
      await c.ready();
      await rollBack(c, contact.phone, to);

      const third = emu.waitForMessage(contact.phone);
      const sent = await c.sock.sendMessage(to, { text: 'three' });
      const id = sent?.key.id ?? '';
      const got = await third;
      expect(got.id).toBe(id);
      expect(text(got)).toBe('three');
      expect(contactState(contact.phone)).toMatchObject({ undecryptable: 0 });
      expect(contactState(contact.phone).retryReceiptsSent).toBeGreaterThanOrEqual(1);
      // the failed attempt is not a message: the id shows up once, in order
      expect(emu.receivedBy(contact.phone).map(text)).toEqual(['one', 'two', 'three']);
      expect(emu.receivedBy(contact.phone).filter((m) => m.id === id)).toHaveLength(1);
      // delivered in the end: the sender sees the delivery receipt, and the chaos suite sees no loss
      await c.waitFor(() => (c.statusOf(id) >= 3 ? true : undefined), 10_000, 'DELIVERY_ACK of the resent message');
      expect(logs.filter((l) => CHAOS_UNDECRYPTABLE.exec(l)?.[1] === id)).toEqual([]);

      // the new session works both ways
      const fourth = emu.waitForMessage(contact.phone);
      await c.sock.sendMessage(to, { text: 'four' });
      expect(text(await fourth)).toBe('four');
      await emu.sendMessage(contact.phone, ACCOUNT, `after the retry, ${addressing}`);
      await c.received(`after the retry, ${addressing}`);
      expect(contactState(contact.phone).undecryptable).toBe(0);
      await offline(c);
    },
  );

  it(`a message that stays undecryptable after ${MAX_RETRY_RECEIPTS} retry receipts is reported as such and never delivered`, async () => {
    const contact = newContact();
    // a store that keeps losing its session writes: every resend is encrypted with the rolled-back session again
    let loseSessionWrites = false;
    const lossy: MemoryAuth = {
      ...auth,
      keys: {
        get: auth.keys.get,
        set: (set: SignalDataSet) => {
          if (!loseSessionWrites) return auth.keys.set(set);
          const { session: _lost, ...rest } = set;
          return auth.keys.set(rest);
        },
      },
    };
    const c = login({}, lossy);
    await c.ready();
    await rollBack(c, contact.phone, contact.pn);
    loseSessionWrites = true;

    const sent = await c.sock.sendMessage(contact.pn, { text: 'never readable' });
    const id = sent?.key.id ?? '';
    await waitFor(() => contactState(contact.phone).undecryptable === 1, 'the contact to give up', {
      detail: () => JSON.stringify(contactState(contact.phone)),
    });
    expect(contactState(contact.phone).retryReceiptsSent).toBe(MAX_RETRY_RECEIPTS);
    expect(emu.receivedBy(contact.phone).map((m) => m.id)).not.toContain(id);
    // reported once, in the line the chaos suite reads
    expect(logs.filter((l) => CHAOS_UNDECRYPTABLE.exec(l)?.[1] === id)).toHaveLength(1);
    loseSessionWrites = false;
    await offline(c);
  });

  it.each([
    ['from getMessage, so the contact gets it', true],
    ['nowhere (no getMessage), so the contact reports it undecryptable', false],
  ])('a retry receipt the device did not handle before it went away reaches its next login; the message is found %s', async (_how, stored) => {
    const contact = newContact();
    const c = login();
    await c.ready();
    await rollBack(c, contact.phone, contact.pn);
    // a worker about to die: it never handles the retry receipt (no resend, no ack)
    c.sock.ws.removeAllListeners('CB:receipt');
    const sent = await c.sock.sendMessage(contact.pn, { text: 'three, across a restart' });
    const id = sent?.key.id ?? '';
    await waitFor(() => contactState(contact.phone).retryReceiptsSent === 1, 'the retry receipt');
    await offline(c);

    // the restarted process has an empty recent-message cache: only getMessage can find the message
    const message: proto.IMessage = { conversation: 'three, across a restart' };
    const back = login({ getMessage: async (key) => (stored && key.id === id ? message : undefined) });
    await back.ready();
    if (stored) {
      const got = await emu.waitForMessage(contact.phone);
      expect(got.id).toBe(id);
      expect(emu.receivedBy(contact.phone).filter((m) => m.id === id)).toHaveLength(1);
      expect(contactState(contact.phone)).toMatchObject({ retryReceiptsSent: 1, undecryptable: 0 });
    } else {
      // the device acknowledges the receipt without resending: nothing more will come
      await waitFor(() => contactState(contact.phone).undecryptable === 1, 'the contact to give up');
      expect(emu.receivedBy(contact.phone).map((m) => m.id)).not.toContain(id);
      expect(logs.filter((l) => CHAOS_UNDECRYPTABLE.exec(l)?.[1] === id)).toHaveLength(1);
    }
    await offline(back);
  });
});
