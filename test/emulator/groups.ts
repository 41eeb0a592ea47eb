/**
 * Groups, as far as receiving needs them: a group has a jid and members (emulated contacts and
 * linked accounts). A contact's message to the group is encrypted ONCE with the contact's sender
 * key (`skmsg`); every account device also gets, in the same stanza, a 1:1 Signal message (pkmsg
 * or msg) carrying the SenderKeyDistributionMessage it needs to decrypt it, as WhatsApp does.
 */
import { randomBytes } from 'node:crypto';
import { GroupCipher, GroupSessionBuilder, SenderKeyName, SenderKeyRecord } from '@whiskeysockets/baileys/lib/Signal/Group/index.js';

export interface Group {
  jid: string;
  subject: string;
  /** phone digits of contacts and accounts */
  members: Set<string>;
  /** Read receipts account devices sent in the group, each (id, sender) once (server.ts `observeGroupRead`). */
  reads: Array<{ id: string; sender: string }>;
  /** the member who created it (superadmin in the metadata): the first one */
  creator: string;
  /** further admins (phone digits) */
  admins: Set<string>;
  /** unix seconds */
  createdAt: number;
  /** messages linked devices sent to it (group-send.ts): id, sender phone, the devices that got the sender key with it, when the server took it (ms) */
  sentByDevices: Array<{ id: string; from: string; distributedTo: string[]; at: number }>;
  /** metadata queries (`w:g2` `<query>`) answered for it (the bench compares sends with and without Baileys' metadata cache) */
  metadataQueries?: number;
  /** contacts removed from it (group-notify.ts): WhatsApp no longer fans messages out to them */
  formerMembers?: Set<string>;
  /** each account message to the group tried on each former member with the sender key it kept (group-send.ts) */
  formerMemberReads?: Array<{ id: string; phone: string; decrypted: boolean }>;
}

export class GroupStore {
  private readonly groups = new Map<string, Group>();

  create(subject: string, members: string[], admins: string[] = []): Group {
    const jid = `120363${BigInt(`0x${randomBytes(6).toString('hex')}`)
      .toString()
      .padStart(12, '0')
      .slice(0, 12)}@g.us`;
    const group: Group = {
      jid,
      subject,
      members: new Set(members),
      creator: members[0] ?? '',
      admins: new Set(admins),
      createdAt: Math.floor(Date.now() / 1000),
      sentByDevices: [],
      reads: [],
    };
    this.groups.set(jid, group);
    return group;
  }

  get(jid: string): Group | undefined {
    return this.groups.get(jid);
  }

  all(): Group[] {
    return [...this.groups.values()];
  }
}

/** One sender's sender-key state for one group (in memory). */
export class SenderKeySession {
  private record = new SenderKeyRecord();
  private readonly name: SenderKeyName;
  private readonly store = {
    loadSenderKey: async () => this.record,
    storeSenderKey: async (_name: SenderKeyName, record: SenderKeyRecord) => {
      this.record = record;
    },
  };

  constructor(groupJid: string, senderLid: string) {
    const id = senderLid.split('@')[0] ?? senderLid;
    this.name = new SenderKeyName(groupJid, { id, deviceId: 0, toString: () => `${id}.0` });
  }

  /** The SenderKeyDistributionMessage, serialized, for the members' devices. */
  async distribution(): Promise<Uint8Array> {
    return (await new GroupSessionBuilder(this.store).create(this.name)).serialize();
  }

  encrypt(paddedPlaintext: Uint8Array): Promise<Uint8Array> {
    return new GroupCipher(this.store, this.name).encrypt(paddedPlaintext);
  }
}
