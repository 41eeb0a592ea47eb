/**
 * The sender keys each emulated contact received, per (group, sender device), in memory, and the
 * decryption of a group message (`skmsg`) with them (group-send.ts).
 *
 * Why a fan-out memo: a send to a 200-member group is decrypted by every member, and libsignal's
 * GroupCipher verifies the message's curve25519 signature in pure JS each time (milliseconds per
 * member on a loaded machine). The emulator handles a connection's frames one at a time, so ~200
 * verifications per send held every later frame of that connection, the client's IQs included:
 * a client that sends a metadata query between group sends (Baileys without `cachedGroupMetadata`)
 * waited behind seconds of fan-out, up to its 60 s query timeout. A real server answers IQs while it
 * fans out. GroupCipher.decrypt is deterministic (same record state + same message → same plaintext,
 * same record state after, same error), and the members that got the same distribution message hold
 * the same state, so one fan-out decrypts once per distinct state and copies the outcome to the
 * others: every member still decrypts with its own key, and a member with a different (stale,
 * rotated, missing) key still fails on its own.
 */
import { createHash } from 'node:crypto';
import { BufferJSON } from '@whiskeysockets/baileys';
import {
  GroupCipher,
  GroupSessionBuilder,
  SenderKeyDistributionMessage,
  SenderKeyName,
  SenderKeyRecord,
} from '@whiskeysockets/baileys/lib/Signal/Group/index.js';
import type { Contact } from './signal-contacts.js';

/** What a decryption did to one record state: the state after it and its plaintext or error. */
interface Outcome {
  after: string;
  plain?: Uint8Array;
  error?: unknown;
}

/** The outcomes of decrypting ONE `skmsg`, by record state before it; make one per fan-out (it is only valid for that message). */
export class FanoutMemo {
  readonly outcomes = new Map<string, Outcome>();
  /** decryptions actually run (the others were copied): tests check that the memo is used */
  decryptions = 0;
}

const serialize = (record: SenderKeyRecord): string => JSON.stringify(record.serialize(), BufferJSON.replacer);
const revive = (json: string): SenderKeyRecord => new SenderKeyRecord(JSON.parse(json, BufferJSON.reviver));

export function senderKeyName(groupJid: string, senderJid: string): SenderKeyName {
  const [user = '', device = '0'] = (senderJid.split('@')[0] ?? '').split(':');
  return new SenderKeyName(groupJid, { id: user, deviceId: Number(device), toString: () => `${user}.${device}` });
}

export class ContactSenderKeys {
  private readonly records = new Map<string, SenderKeyRecord>();

  private store(key: string): { loadSenderKey: () => Promise<SenderKeyRecord>; storeSenderKey: (n: SenderKeyName, r: SenderKeyRecord) => Promise<void> } {
    return {
      loadSenderKey: async () => this.records.get(key) ?? new SenderKeyRecord(),
      storeSenderKey: async (_name, record) => {
        this.records.set(key, record);
      },
    };
  }

  has(contact: Contact, groupJid: string, senderJid: string): boolean {
    return this.records.has(`${contact.phone}|${groupJid}|${senderJid}`);
  }

  async process(contact: Contact, groupJid: string, senderJid: string, distribution: Uint8Array): Promise<void> {
    const key = `${contact.phone}|${groupJid}|${senderJid}`;
    if (!this.records.has(key)) this.records.set(key, new SenderKeyRecord());
    const skdm = new SenderKeyDistributionMessage(null, null, null, null, distribution);
    await new GroupSessionBuilder(this.store(key)).process(senderKeyName(groupJid, senderJid), skdm);
  }

  /** Decrypts `skmsg` with the contact's key; with a memo, a state already seen for this message gets that outcome copied. */
  async decrypt(contact: Contact, groupJid: string, senderJid: string, skmsg: Uint8Array, memo?: FanoutMemo): Promise<Uint8Array> {
    const key = `${contact.phone}|${groupJid}|${senderJid}`;
    const cipher = () => new GroupCipher(this.store(key), senderKeyName(groupJid, senderJid)).decrypt(skmsg);
    if (!memo) return cipher();
    const before = this.records.get(key) ?? new SenderKeyRecord();
    const state = createHash('sha256').update(serialize(before)).digest('base64');
    let outcome = memo.outcomes.get(state);
    if (!outcome) {
      memo.decryptions += 1;
      // the record is mutated in place (even when decryption fails after deriving keys): its state after is kept either way
      const result = await cipher().then(
        (plain) => ({ plain }),
        (error: unknown) => ({ error }),
      );
      outcome = { after: serialize(this.records.get(key) ?? before), ...result };
      memo.outcomes.set(state, outcome);
    }
    this.records.set(key, revive(outcome.after));
    if (outcome.plain === undefined) throw outcome.error;
    return Uint8Array.from(outcome.plain);
  }
}
