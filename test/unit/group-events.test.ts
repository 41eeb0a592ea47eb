import pino from 'pino';
import { proto, WAMessageStubType, type GroupMetadata, type SignalDataSet, type SignalKeyStore, type WAMessage } from '@whiskeysockets/baileys';
import type { SessionCommand } from '../../src/commands/command.js';
import { stableEventId } from '../../src/events/event-publisher.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import type { SessionDeps } from '../../src/sessions/session.js';
import { MAX_PARTICIPANTS, toGroupEvents } from '../../src/whatsapp/baileys-group-events.js';
import { ownSenderKeyName, rotateOwnSenderKey } from '../../src/whatsapp/baileys-sender-key-rotation.js';
import { GroupMetadataCache } from '../../src/whatsapp/group-metadata-cache.js';
import type { GroupEvent, NotifiedMember } from '../../src/whatsapp/types.js';
import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import { RecordingEvents } from '../fakes/recording-events.js';

const GROUP = '120363000000000001@g.us';
const ALICE = { lid: '111111111111111@lid', pn: '15550001111@s.whatsapp.net' };
const BOB = { lid: '222222222222222@lid', pn: '15550002222@s.whatsapp.net' };
const ME = { lid: '999999999999999@lid', pn: '221771234567@s.whatsapp.net' };
const isMe = (m: NotifiedMember) => m.lid === ME.lid || m.pn === ME.pn;
const T = 1_733_396_400;

const stub = (type: number, params: string[], extra: Partial<WAMessage> = {}): WAMessage => ({
  key: { remoteJid: GROUP, id: 'N1', fromMe: false, participant: ALICE.lid },
  messageStubType: type,
  messageStubParameters: params,
  messageTimestamp: T,
  ...extra,
});
const participant = (m: { lid: string; pn: string }, admin: string | null = null) => JSON.stringify({ id: m.lid, phoneNumber: m.pn, admin });

function metadata(participants: Array<{ lid: string; pn: string; admin?: 'admin' | 'superadmin' | null }>, extra: Partial<GroupMetadata> = {}): GroupMetadata {
  return {
    id: GROUP,
    subject: 'Team',
    owner: ALICE.lid,
    participants: participants.map((p) => ({ id: p.lid, phoneNumber: p.pn, admin: p.admin ?? null })),
    ...extra,
  };
}

describe('group notifications → group events (baileys-group-events.ts)', () => {
  const none = () => undefined;

  it('a <create>: group_joined (created) with the subject and the members of the metadata Baileys upserted first', () => {
    const meta = metadata([{ ...ALICE, admin: 'superadmin' }, BOB, ME]);
    const [joined, ...rest] = toGroupEvents(stub(WAMessageStubType.GROUP_CREATE, ['Team']), isMe, () => meta);
    expect(rest).toEqual([]);
    expect(joined).toEqual({
      id: 'N1',
      group: GROUP,
      at: T * 1000,
      actor: { lid: ALICE.lid, pn: ALICE.pn },
      kind: 'joined',
      how: 'created',
      subject: 'Team',
      participantCount: 3,
      participants: [
        { ...ALICE, admin: 'superadmin' },
        { ...BOB, admin: null },
        { ...ME, admin: null },
      ],
    });
  });

  it.each([
    [WAMessageStubType.GROUP_PARTICIPANT_ADD, 'added'],
    [WAMessageStubType.GROUP_PARTICIPANT_REMOVE, 'removed'],
    [WAMessageStubType.GROUP_PARTICIPANT_LEAVE, 'left'],
    [WAMessageStubType.GROUP_PARTICIPANT_PROMOTE, 'promoted'],
    [WAMessageStubType.GROUP_PARTICIPANT_DEMOTE, 'demoted'],
  ] as const)('stub %s: participants_changed %s, with the members and the actor', (type, action) => {
    expect(toGroupEvents(stub(type, [participant(BOB)]), isMe, none)).toEqual([
      { id: 'N1', group: GROUP, at: T * 1000, actor: { lid: ALICE.lid }, kind: 'participants_changed', action, participants: [{ ...BOB, admin: null }] },
    ]);
  });

  it('the account added: participants_changed, then group_joined (added) with what the cache knows', () => {
    const events = toGroupEvents(stub(WAMessageStubType.GROUP_PARTICIPANT_ADD, [participant(ME)]), isMe, () => metadata([ALICE, ME]));
    expect(events.map((e) => e.kind)).toEqual(['participants_changed', 'joined']);
    expect(events[1]).toMatchObject({ kind: 'joined', how: 'added', subject: 'Team', participantCount: 2 });
  });

  it("the actor's PN, lost by Baileys on the way to the stub, comes from the cached metadata", () => {
    const [event] = toGroupEvents(stub(WAMessageStubType.GROUP_CHANGE_SUBJECT, ['New']), isMe, () => metadata([ALICE]));
    expect(event?.actor).toEqual({ lid: ALICE.lid, pn: ALICE.pn });
  });

  it.each([
    [WAMessageStubType.GROUP_CHANGE_SUBJECT, ['New name'], { subject: 'New name' }],
    [WAMessageStubType.GROUP_CHANGE_DESCRIPTION, ['About us'], { description: 'About us' }],
    [WAMessageStubType.GROUP_CHANGE_DESCRIPTION, [], { description: null }],
    [WAMessageStubType.GROUP_CHANGE_ANNOUNCE, ['on'], { announce: true }],
    [WAMessageStubType.GROUP_CHANGE_ANNOUNCE, ['off'], { announce: false }],
    [WAMessageStubType.GROUP_CHANGE_RESTRICT, ['on'], { locked: true }],
    [WAMessageStubType.GROUP_CHANGE_INVITE_LINK, ['AbCd'], { inviteCode: 'AbCd' }],
    [WAMessageStubType.GROUP_MEMBER_ADD_MODE, ['all_member_add'], { memberAddMode: 'all_member_add' }],
    [WAMessageStubType.GROUP_MEMBERSHIP_JOIN_APPROVAL_MODE, ['on'], { joinApproval: true }],
  ] as const)('stub %s %j: group_updated %j', (type, params, changes) => {
    expect(toGroupEvents(stub(type, [...params]), isMe, none)).toEqual([
      { id: 'N1', group: GROUP, at: T * 1000, actor: { lid: ALICE.lid }, kind: 'updated', changes },
    ]);
  });

  it('<ephemeral>: the protocol message Baileys makes of it → group_updated ephemeralSeconds (0 when turned off)', () => {
    const ephemeral = (secs: number): WAMessage => ({
      key: { remoteJid: GROUP, id: 'N2', participant: ALICE.lid },
      messageTimestamp: T,
      message: { protocolMessage: { type: proto.Message.ProtocolMessage.Type.EPHEMERAL_SETTING, ephemeralExpiration: secs } },
    });
    expect(toGroupEvents(ephemeral(86400), isMe, none)).toMatchObject([{ kind: 'updated', changes: { ephemeralSeconds: 86400 } }]);
    expect(toGroupEvents(ephemeral(0), isMe, none)).toMatchObject([{ kind: 'updated', changes: { ephemeralSeconds: 0 } }]);
  });

  it('a join request: membership_request with who and how', () => {
    const params = [JSON.stringify({ lid: BOB.lid, pn: BOB.pn }), 'created', 'invite_link'];
    expect(toGroupEvents(stub(WAMessageStubType.GROUP_MEMBERSHIP_JOIN_APPROVAL_REQUEST_NON_ADMIN_ADD, params), isMe, none)).toEqual([
      {
        id: 'N1',
        group: GROUP,
        at: T * 1000,
        actor: { lid: ALICE.lid },
        kind: 'membership_request',
        action: 'created',
        participant: BOB,
        method: 'invite_link',
      },
    ]);
  });

  it('hostile or unrelated input: nothing, or only what is valid, bounded', () => {
    expect(toGroupEvents(stub(WAMessageStubType.GROUP_CHANGE_SUBJECT, ['x'], { key: { remoteJid: ALICE.pn, id: 'N1' } }), isMe, none)).toEqual([]);
    expect(toGroupEvents(stub(WAMessageStubType.GROUP_CHANGE_SUBJECT, ['x'], { key: { remoteJid: GROUP, id: 'x'.repeat(200) } }), isMe, none)).toEqual([]);
    expect(toGroupEvents({ key: { remoteJid: GROUP, id: 'M1' }, message: { conversation: 'hi' } }, isMe, none)).toEqual([]);
    const junk = ['not json', JSON.stringify({ id: 'evil@example.com' }), participant(BOB), 'x'.repeat(5000)];
    expect(toGroupEvents(stub(WAMessageStubType.GROUP_PARTICIPANT_ADD, junk), isMe, none)).toMatchObject([{ participants: [{ ...BOB, admin: null }] }]);
    const many = Array.from({ length: MAX_PARTICIPANTS + 50 }, (_, i) => participant({ lid: `${1000 + i}@lid`, pn: `${1000 + i}@s.whatsapp.net` }));
    const [bulk] = toGroupEvents(stub(WAMessageStubType.GROUP_PARTICIPANT_ADD, many), isMe, none);
    expect(bulk?.kind === 'participants_changed' && bulk.participants.length).toBe(MAX_PARTICIPANTS);
    const [long] = toGroupEvents(stub(WAMessageStubType.GROUP_CHANGE_SUBJECT, ['s'.repeat(10_000)]), isMe, none);
    expect(long?.kind === 'updated' && long.changes.subject?.length).toBe(2048);
    expect(toGroupEvents(stub(WAMessageStubType.GROUP_MEMBERSHIP_JOIN_APPROVAL_REQUEST_NON_ADMIN_ADD, ['{}', 'created']), isMe, none)).toEqual([]);
  });
});

describe('group metadata cache (group-metadata-cache.ts)', () => {
  const event = (e: Omit<GroupEvent, 'id' | 'group' | 'at'> & Partial<GroupEvent>): GroupEvent => ({ id: 'N', group: GROUP, at: 0, ...e }) as GroupEvent;

  it('bounded: the least recently used group goes first; a read refreshes a group', () => {
    const cache = new GroupMetadataCache(2);
    cache.set({ ...metadata([]), id: 'a@g.us' });
    cache.set({ ...metadata([]), id: 'b@g.us' });
    cache.get('a@g.us');
    cache.set({ ...metadata([]), id: 'c@g.us' });
    expect(cache.size).toBe(2);
    expect(cache.get('b@g.us')).toBeUndefined();
    expect(cache.get('a@g.us')?.id).toBe('a@g.us');
  });

  it('getOrFetch asks WhatsApp once per group; a failed fetch is not cached', async () => {
    const cache = new GroupMetadataCache(10);
    let asked = 0;
    const fetch = async () => (asked++, metadata([ALICE]));
    await cache.getOrFetch(GROUP, fetch);
    await cache.getOrFetch(GROUP, fetch);
    expect(asked).toBe(1);
    expect(cache.fetches).toBe(1);
    const failing = async (): Promise<GroupMetadata> => Promise.reject(new Error('timeout'));
    expect(await cache.getOrFetch('x@g.us', failing)).toBeUndefined();
    expect(cache.get('x@g.us')).toBeUndefined();
  });

  it('kept true by the notifications: added, removed, promoted, subject, settings; a group the account left is dropped', () => {
    const cache = new GroupMetadataCache(10);
    cache.set(metadata([ALICE, ME]));
    cache.apply(event({ kind: 'participants_changed', action: 'added', participants: [BOB] }), isMe);
    expect(cache.get(GROUP)?.participants.map((p) => p.id)).toEqual([ALICE.lid, ME.lid, BOB.lid]);
    cache.apply(event({ kind: 'participants_changed', action: 'promoted', participants: [{ lid: BOB.lid }] }), isMe);
    expect(cache.get(GROUP)?.participants.find((p) => p.id === BOB.lid)?.admin).toBe('admin');
    cache.apply(event({ kind: 'participants_changed', action: 'removed', participants: [{ pn: ALICE.pn }] }), isMe);
    expect(cache.get(GROUP)?.participants.map((p) => p.id)).toEqual([ME.lid, BOB.lid]);
    expect(cache.get(GROUP)?.size).toBe(2);
    cache.apply(event({ kind: 'updated', changes: { subject: 'Renamed', announce: true, ephemeralSeconds: 604800 } }), isMe);
    expect(cache.get(GROUP)).toMatchObject({ subject: 'Renamed', announce: true, ephemeralDuration: 604800 });
    cache.apply(event({ kind: 'participants_changed', action: 'removed', participants: [ME] }), isMe);
    expect(cache.get(GROUP)).toBeUndefined();
  });
});

describe('sender key rotation after a removal (baileys-sender-key-rotation.ts)', () => {
  it("names the account's own sender key as Baileys stores it, by LID and by PN", () => {
    expect(ownSenderKeyName(GROUP, '999999999999999:12@lid')).toBe(`${GROUP}::999999999999999_1::12`);
    expect(ownSenderKeyName(GROUP, '221771234567:12@s.whatsapp.net')).toBe(`${GROUP}::221771234567::12`);
    expect(ownSenderKeyName(GROUP, 'nonsense')).toBeUndefined();
  });

  it('forgets both sender keys and the memory of who got them', async () => {
    const sets: SignalDataSet[] = [];
    const keys: SignalKeyStore = { get: async () => ({}), set: async (data) => void sets.push(data) };
    await rotateOwnSenderKey(keys, GROUP, { id: '221771234567:12@s.whatsapp.net', lid: '999999999999999:12@lid' });
    expect(sets).toEqual([
      {
        'sender-key': { [`${GROUP}::221771234567::12`]: null, [`${GROUP}::999999999999999_1::12`]: null },
        'sender-key-memory': { [GROUP]: null },
      },
    ]);
  });
});

describe('a session publishes group events (session-groups.ts)', () => {
  const SID = 'session_6_+221771234567';
  const create: SessionCommand = {
    numberId: 6,
    phoneNumber: '+221771234567',
    sessionId: SID,
    workerId: 'w1',
    backendSessionId: undefined,
    issuedAt: undefined,
    action: 'create',
    requestId: 'r',
  };

  it('one event per notification, eventId from the notification id, a redelivered one not published twice', async () => {
    const connector = new FakeConnector();
    const events = new RecordingEvents('w1');
    const deps: SessionDeps = {
      workerId: 'w1',
      connector,
      store: new MemorySessionStore(),
      events,
      logger: pino({ level: 'silent' }),
      renderQr: async () => 'data:',
      policy: {
        reconnectBaseDelayMs: 5,
        reconnectMaxDelayMs: 20,
        maxConflicts: 3,
        conflictWindowMs: 60_000,
        qrTimeoutMs: undefined,
        pairingReadyTimeoutMs: 1000,
      },
      messaging: { sendWaitForOpenMs: 300, mediaMaxBytes: 1024 },
    };
    const manager = new SessionManager(deps, { maxSessions: 10, restoreConcurrency: 2, restoreSettleTimeoutMs: 1000 });
    await manager.execute(create);
    const socket = connector.latest(SID)!;
    socket.open('221771234567');
    await events.until(() => events.actions().includes('connected'));
    const base = { group: GROUP, at: T * 1000, actor: { lid: ALICE.lid } };
    const batch: GroupEvent[] = [
      { ...base, id: 'N1', kind: 'joined', how: 'created', subject: 'Team', participantCount: 3 },
      { ...base, id: 'N2', kind: 'participants_changed', action: 'added', participants: [BOB] },
      { ...base, id: 'N3', kind: 'updated', changes: { subject: 'New' } },
      { ...base, id: 'N4', kind: 'membership_request', action: 'created', participant: BOB, method: 'invite_link' },
    ];
    socket.emit({ type: 'groups', events: batch });
    socket.emit({ type: 'groups', events: [batch[1]!] });
    await events.until(() => events.messages('group_membership_request').length === 1);
    expect(events.messages('group_joined')).toMatchObject([{ sessionId: SID, group: GROUP, notificationId: 'N1', how: 'created', by: { lid: ALICE.lid } }]);
    const [changed, ...again] = events.messages('group_participants_changed');
    expect(again).toEqual([]);
    expect(changed).toMatchObject({ notificationId: 'N2', change: 'added', participants: [BOB] });
    expect(changed?.eventId).toBe(stableEventId(`group_participants_changed\0${SID}\0${GROUP}\0N2`));
    expect(events.messages('group_updated')).toMatchObject([{ changes: { subject: 'New' } }]);
    expect(events.messages('group_membership_request')).toMatchObject([{ request: 'created', participant: BOB, method: 'invite_link' }]);
    await manager.shutdown();
  });
});
