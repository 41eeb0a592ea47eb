/**
 * The WhatsApp Web emulator for `npm run bench`, in its own process (forked with an IPC channel
 * by emulator-remote.ts), so the emulated server never competes with the bench harness, the
 * worker and the bare clients for one event loop. Same emulator as `npm run emulator`
 * (test/emulator), driven over IPC instead of HTTP: every request is `{ id, op, args }`, every
 * answer `{ id, ok, value | error }`.
 *
 * Besides the control API it offers `register`: the phone side of a QR link without the QR round
 * trip, for seeding hundreds of accounts. The client's registration data (noise key, identity,
 * signed prekey, registration id: what Baileys sends in its REGISTRATION payload) comes in; the
 * account and device are created exactly as `scanQr` creates them, and the `<pair-success>` stanza
 * the phone would send is returned, so the caller completes the pairing with Baileys' own
 * `configureSuccessfulPairing` (same creds as a scanned QR leaves).
 */
import { buildPairSuccess, normalizePhone, startEmulator } from '../../test/emulator/index.js';

export interface RegisterArgs {
  phone: string;
  noiseKey: Uint8Array;
  identityKey: Uint8Array;
  registrationId: number;
  signedPreKey: { keyId: number; publicKey: Uint8Array; signature: Uint8Array };
  advSecret: Uint8Array;
  /**
   * The device's first login is taken as done (no app-state key share or history bootstrap at its
   * next login): for accounts that are only ever restored, made by the thousand (see seed.ts).
   */
  firstLoginDone?: boolean;
}

async function main(): Promise<void> {
  // libsignal (the emulated phones and contacts) prints session internals with console.*: not bench output
  for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) console[k] = () => undefined;
  const emu = await startEmulator({ skipPrekeyUpload: process.env.BENCH_EMULATOR_SKIP_PREKEY_UPLOAD !== '0' });

  const addDevice = (phone: string, a: Omit<RegisterArgs, 'phone' | 'advSecret'>) => {
    const account = emu.accounts.getOrCreate(phone);
    const deviceId = account.nextDeviceId++;
    account.devices.set(deviceId, {
      deviceId,
      noiseKey: Buffer.from(a.noiseKey),
      identityKey: Buffer.from(a.identityKey),
      registrationId: a.registrationId,
      signedPreKey: { keyId: a.signedPreKey.keyId, publicKey: Buffer.from(a.signedPreKey.publicKey), signature: Buffer.from(a.signedPreKey.signature) },
      preKeys: new Map(),
      bootstrapped: a.firstLoginDone === true,
      offlineQueue: [],
    });
    return { account, deviceId };
  };

  const register = (a: RegisterArgs) => {
    const phone = normalizePhone(a.phone);
    const { account, deviceId } = addDevice(phone, a);
    const { stanza } = buildPairSuccess({
      phone,
      lid: account.lid,
      deviceId,
      advSecret: a.advSecret,
      accountKey: account.phoneDevice.identityRaw,
      companionIdentity: a.identityKey,
    });
    return { stanza };
  };

  /**
   * Thousands of devices at once for the scale bench (seed.ts registerLiteSeeds): each with its
   * own noise key, the rest of the registration shared, first login taken as done; no
   * <pair-success> (its signature is the costly part). Answers what the client's creds need.
   */
  const registerBulk = (items: Array<{ phone: string; noiseKey: Uint8Array }>, shared: Omit<RegisterArgs, 'phone' | 'noiseKey' | 'advSecret'>) =>
    items.map(({ phone, noiseKey }) => {
      const digits = normalizePhone(phone);
      const { account, deviceId } = addDevice(digits, { ...shared, noiseKey, firstLoginDone: true });
      return { phone: digits, lid: account.lid, deviceId, accountKey: account.phoneDevice.identityRaw.public };
    });

  const ops: Record<string, (...args: any[]) => unknown> = {
    info: () => ({ url: emu.url, rootPublicKeyHex: emu.rootPublicKeyHex }),
    scanQr: (qr: string, phoneNumber: string) => emu.scanQr(qr, { phoneNumber }),
    forgetAccounts: () => emu.forgetAccounts(),
    addContact: (phoneNumber: string) => emu.addContact(phoneNumber),
    hasContact: (phoneNumber: string) => emu.contacts.get(phoneNumber) !== undefined,
    receivedCount: (phoneNumber: string) => emu.receivedBy(phoneNumber).length,
    connectionCount: () => emu.connectionCount,
    createGroup: (subject: string, phones: string[]) => emu.createGroup(subject, phones),
    groupMetadataQueries: (jid: string) => emu.groups.get(jid)?.metadataQueries ?? 0,
    deviceQueries: () => ({ ...emu.deviceQueries }),
    // when the server took each of these sends of a device to the group (ms since the epoch), null for one it did not
    groupSendTimes: (jid: string, ids: string[]) => ids.map((id) => emu.groups.get(jid)?.sentByDevices.find((s) => s.id === id)?.at ?? null),
    groupReceivedCount: (phone: string, jid: string) => emu.receivedBy(phone).filter((m) => m.group === jid).length,
    // resolves once the member has `count` messages of the group: the emulator has fanned out every send before it
    untilGroupReceived: (phone: string, jid: string, count: number, timeoutMs: number) =>
      emu.until(() => (emu.receivedBy(phone).filter((m) => m.group === jid).length >= count ? true : undefined), {
        timeoutMs,
        what: `${count} messages of ${jid} received by ${phone}`,
      }),
    register,
    registerBulk,
    memory: () => process.memoryUsage(),
    cpuSeconds: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    },
    /** One text from an emulated contact to an account (the contact is made on first use). */
    contactSends: async (contactPhone: string, accountPhone: string, text: string) => {
      if (!emu.contacts.get(contactPhone)) emu.addContact(contactPhone);
      await emu.sendMessage(contactPhone, accountPhone, text);
    },
  };

  process.on('message', (msg: { id: number; op: string; args: unknown[] }) => {
    const fn = ops[msg.op];
    Promise.resolve()
      .then(() => {
        if (!fn) throw new Error(`unknown op ${msg.op}`);
        return fn(...msg.args);
      })
      .then(
        (value) => process.send!({ id: msg.id, ok: true, value }),
        (err: unknown) => process.send!({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  });
  process.on('disconnect', () => {
    void emu.close().then(() => process.exit(0));
  });
  process.send!({ id: 0, ok: true, value: { url: emu.url, rootPublicKeyHex: emu.rootPublicKeyHex } });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench emulator failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
