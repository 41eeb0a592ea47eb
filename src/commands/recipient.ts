import { WorkerError } from '../util/errors.js';

/**
 * A send's `to`, as the backend gives it, to the JID WhatsApp routes by: a phone number
 * (`+221770000001`, spaces and dashes tolerated) becomes `221770000001@s.whatsapp.net`; a JID
 * is accepted as a user (`…@s.whatsapp.net`), a LID (`…@lid`) or a group (`…@g.us`). Anything
 * else, device-qualified JIDs included, is refused: the backend addresses people and groups.
 */
const PHONE = /^\+?[0-9]{6,15}$/;
const JID = /^([0-9]{5,20})@(s\.whatsapp\.net|lid)$/;
const GROUP = /^([0-9]{5,20}(-[0-9]{5,20})?)@g\.us$/;

export function recipientJid(to: string): string {
  const raw = to.trim();
  if (raw.includes('@')) {
    const jid = raw.toLowerCase();
    if (JID.test(jid) || GROUP.test(jid)) return jid;
    throw new WorkerError('INVALID_RECIPIENT', `"to" "${raw.slice(0, 60)}" is not a user (…@s.whatsapp.net), LID (…@lid) or group (…@g.us) JID`);
  }
  const phone = raw.replace(/[\s().-]/g, '');
  if (!PHONE.test(phone))
    throw new WorkerError('INVALID_RECIPIENT', `"to" "${raw.slice(0, 60)}" is neither a phone number (6 to 15 digits, optional +) nor a JID`);
  return `${phone.replace(/^\+/, '')}@s.whatsapp.net`;
}

export const isGroupJid = (jid: string): boolean => jid.endsWith('@g.us');
export const isPhoneJid = (jid: string): boolean => jid.endsWith('@s.whatsapp.net');
