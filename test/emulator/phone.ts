/**
 * The account's own phone (primary device) as seen by a freshly linked companion:
 * right after the first login it shares an app-state sync key and sends an
 * INITIAL_BOOTSTRAP history-sync notification with an inline payload. Without
 * these two peer messages Baileys buffers events for 20 s before going online.
 */
import { randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { proto, writeRandomPadMax16 } from '@whiskeysockets/baileys';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account, CompanionDevice } from './accounts.js';
import { takeCompanionBundle } from './accounts.js';
import { node, serverId, unixNow } from './frames.js';
import type { PreKeyBundle } from './signal-device.js';

/** The two protocol messages of the first-login bootstrap. */
export function bootstrapMessages(account: Account): proto.IMessage[] {
  const keyShare: proto.IMessage = {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
      appStateSyncKeyShare: {
        keys: [
          {
            keyId: { keyId: randomBytes(6) },
            keyData: {
              keyData: randomBytes(32),
              fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0] },
              timestamp: Date.now(),
            },
          },
        ],
      },
    },
  };
  const history = proto.HistorySync.encode({
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations: [],
    pushnames: [{ id: account.pnJid, pushname: `Emulated ${account.phone}` }],
  }).finish();
  const notification: proto.IMessage = {
    protocolMessage: {
      type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
      historySyncNotification: {
        syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
        initialHistBootstrapInlinePayload: deflateSync(history),
        chunkOrder: 0,
        progress: 100,
      },
    },
  };
  return [keyShare, notification];
}

/**
 * Encrypts `message` from the account's phone to one of its companion devices, as a `category="peer"` stanza.
 * `stanza`: the id and t to use (a redelivery keeps them); `fresh`: start a new session from this bundle
 * (the device asked for one with a retry receipt).
 */
export async function phonePeerStanza(
  account: Account,
  device: CompanionDevice,
  message: proto.IMessage,
  stanza: { id: string; t: string } = { id: serverId('3EB0'), t: unixNow() },
  fresh?: PreKeyBundle,
): Promise<BinaryNode> {
  const plain = writeRandomPadMax16(proto.Message.encode(message).finish());
  if (fresh) account.phoneDevice.forgetSession(device.identityKey);
  const bundle =
    fresh ??
    ((await account.phoneDevice.hasSession(device.identityKey))
      ? { registrationId: device.registrationId, identityKey: device.identityKey, signedPreKey: device.signedPreKey }
      : takeCompanionBundle(device));
  const { type, ciphertext } = await account.phoneDevice.encrypt(bundle, plain);
  return node('message', { from: account.pnJid, id: stanza.id, t: stanza.t, type: 'text', category: 'peer' }, [node('enc', { v: '2', type }, ciphertext)]);
}
