import { toContactPresences } from '../../src/whatsapp/baileys-profile.js';

const PN = '221770000001@s.whatsapp.net';
const LID = '123456789012345@lid';
const GROUP = '120363000000000001@g.us';

describe('toContactPresences: presence.update → presence events', () => {
  it('a contact by PN or LID (device dropped); lastSeen in ms, only when unavailable', () => {
    expect(toContactPresences(`221770000001:2@s.whatsapp.net`, { [`221770000001:2@s.whatsapp.net`]: { lastKnownPresence: 'composing' } })).toEqual([
      { chat: PN, from: { pn: PN }, presence: 'composing' },
    ]);
    expect(toContactPresences(LID, { [LID]: { lastKnownPresence: 'unavailable', lastSeen: 1_760_000_000 } })).toEqual([
      { chat: LID, from: { lid: LID }, presence: 'unavailable', lastSeen: 1_760_000_000_000 },
    ]);
    expect(toContactPresences(PN, { [PN]: { lastKnownPresence: 'available', lastSeen: 1_760_000_000 } })).toEqual([
      { chat: PN, from: { pn: PN }, presence: 'available' },
    ]);
  });

  it('a member typing in a group: the chat is the group, from the member', () => {
    expect(toContactPresences(GROUP, { [LID]: { lastKnownPresence: 'recording' } })).toEqual([{ chat: GROUP, from: { lid: LID }, presence: 'recording' }]);
  });

  it('drops what is not a user or group JID, an unknown state, a group as participant, a bad lastSeen; looks at 16 participants at most', () => {
    expect(toContactPresences('status@broadcast', { [PN]: { lastKnownPresence: 'available' } })).toEqual([]);
    expect(toContactPresences(`${'1'.repeat(200)}@s.whatsapp.net`, { [PN]: { lastKnownPresence: 'available' } })).toEqual([]);
    expect(toContactPresences(PN, { [PN]: { lastKnownPresence: 'typing' } })).toEqual([]);
    expect(toContactPresences(PN, { [PN]: undefined })).toEqual([]);
    expect(toContactPresences(GROUP, { [GROUP]: { lastKnownPresence: 'available' } })).toEqual([]);
    expect(toContactPresences(PN, { 'x@example.com': { lastKnownPresence: 'available' } })).toEqual([]);
    expect(toContactPresences(PN, { [PN]: { lastKnownPresence: 'unavailable', lastSeen: -5 } })).toEqual([
      { chat: PN, from: { pn: PN }, presence: 'unavailable' },
    ]);
    expect(toContactPresences(PN, { [PN]: { lastKnownPresence: 'unavailable', lastSeen: Number.MAX_VALUE } })).toEqual([
      { chat: PN, from: { pn: PN }, presence: 'unavailable' },
    ]);
    const many = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`22177000${String(i).padStart(4, '0')}@s.whatsapp.net`, { lastKnownPresence: 'available' }]),
    );
    expect(toContactPresences(GROUP, many)).toHaveLength(16);
  });
});
