import { jidDecode, type SignalKeyStore } from '@whiskeysockets/baileys';

/**
 * The name Baileys stores the account's own sender key of a group under (`sender-key`):
 * `<group>::<user>[_<domain>]::<device>`, as its `jidToSignalSenderKeyName` (libsignal.js) builds it.
 */
export function ownSenderKeyName(group: string, meJid: string): string | undefined {
  const decoded = jidDecode(meJid);
  if (!decoded?.user) return undefined;
  const domain = decoded.domainType ?? 0;
  const user = domain !== 0 ? `${decoded.user}_${domain}` : decoded.user;
  return `${group}::${user}::${decoded.device ?? 0}`;
}

/**
 * After members left a group, the account's next message there must not be readable with the
 * sender key they hold. Baileys rc14 does nothing on a removal (notes 2 §8.4: it neither rotates
 * its sender key nor prunes `sender-key-memory`), so the connector forgets both: the next send
 * creates a new sender key and distributes it to every remaining member's device (none is in the
 * emptied memory). The removed members keep only the old chain.
 */
export async function rotateOwnSenderKey(keys: SignalKeyStore, group: string, me: { id?: string | undefined; lid?: string | undefined }): Promise<void> {
  const senderKeys: Record<string, null> = {};
  for (const jid of [me.id, me.lid]) {
    const name = jid ? ownSenderKeyName(group, jid) : undefined;
    if (name) senderKeys[name] = null;
  }
  await keys.set({ 'sender-key': senderKeys, 'sender-key-memory': { [group]: null } });
}
