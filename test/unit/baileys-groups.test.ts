import type { GroupMetadata } from '@whiskeysockets/baileys';
import { groupError, MAX_GROUP_MEMBERS, toGroupInfo } from '../../src/whatsapp/baileys-groups.js';
import { isWorkerError } from '../../src/util/errors.js';

const meta = (extra: Partial<GroupMetadata> = {}): GroupMetadata => ({
  id: '120363000000000001@g.us',
  subject: 'Team',
  owner: undefined,
  participants: [
    { id: '111111111111111@lid', phoneNumber: '221770000001@s.whatsapp.net', admin: 'superadmin' },
    { id: '221770000002@s.whatsapp.net', admin: 'admin' },
    { id: '222222222222222@lid', admin: null },
  ],
  ...extra,
});

describe('baileys-groups: translating what WhatsApp answers', () => {
  it('GroupMetadata → GroupInfo: roles, phones, settings, epoch ms', () => {
    expect(
      toGroupInfo(meta({ desc: 'about us', creation: 1_700_000_000, announce: true, restrict: true, ephemeralDuration: 86400, owner: '111111111111111@lid' })),
    ).toEqual({
      jid: '120363000000000001@g.us',
      subject: 'Team',
      description: 'about us',
      owner: '111111111111111@lid',
      createdAt: 1_700_000_000_000,
      size: 3,
      announce: true,
      locked: true,
      joinApproval: false,
      ephemeral: 86400,
      participants: [
        { jid: '111111111111111@lid', phone: '221770000001@s.whatsapp.net', role: 'superadmin' },
        { jid: '221770000002@s.whatsapp.net', phone: '221770000002@s.whatsapp.net', role: 'admin' },
        { jid: '222222222222222@lid', role: 'member' },
      ],
    });
  });

  it('hostile metadata: a non-group id is dropped, bad member JIDs skipped, members and text bounded', () => {
    expect(toGroupInfo(meta({ id: '221770000001@s.whatsapp.net' }))).toBeUndefined();
    const many = Array.from({ length: MAX_GROUP_MEMBERS + 5 }, (_, i) => ({ id: `${2217700000000 + i}@s.whatsapp.net`, admin: null }));
    const info = toGroupInfo(meta({ participants: [{ id: 'not a jid', admin: null }, ...many], subject: 'x'.repeat(5000) }));
    expect(info?.participants).toHaveLength(MAX_GROUP_MEMBERS - 1);
    expect(info?.truncated).toBe(true);
    expect(info?.subject.length).toBe(256);
  });

  it.each([
    [401, 'NOT_ADMIN'],
    [403, 'NOT_A_MEMBER'],
    [404, 'UNKNOWN_GROUP'],
  ])("WhatsApp's %i → %s (from assertNodeErrorFree's data or extractGroupMetadata's statusCode)", (status, code) => {
    expect(isWorkerError(groupError(Object.assign(new Error('x'), { data: status }), 'it'), code as 'NOT_ADMIN')).toBe(true);
    expect(
      isWorkerError(groupError(Object.assign(new Error('x'), { data: { tag: 'error' }, output: { statusCode: status } }), 'it'), code as 'NOT_ADMIN'),
    ).toBe(true);
  });

  it('other errors are left as they came', () => {
    const err = Object.assign(new Error('rate'), { data: 429 });
    expect(groupError(err, 'it')).toBe(err);
  });
});
