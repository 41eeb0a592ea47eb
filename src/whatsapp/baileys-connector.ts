import makeWASocket, { areJidsSameUser, Browsers, type AuthenticationState, type WAMessage, type WAVersion, jidNormalizedUser } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { baileysLogger } from './baileys-logger.js';
import { toBaileysContent } from './baileys-content.js';
import { receiptStatus, toIncomingMessage } from './incoming-message.js';
import { toIncomingUpdate } from './incoming-update.js';
import type { MediaDownloadOptions } from './media-download.js';
import { ReceiptGate } from './receipt-gate.js';
import { toIncomingCall } from './baileys-calls.js';
import { toMemberReceipt } from './baileys-group-receipts.js';
import { historySyncConfig } from './baileys-history-sync.js';
import { fetchProfile, setBlocked, setProfilePicture, subscribePresence, watchPresence } from './baileys-profile.js';
import * as groups from './baileys-groups.js';
import { HistoryReceipts, processedHistoryNotification, toHistoryChunk } from './baileys-history.js';
import { toGroupEvents } from './baileys-group-events.js';
import { rotateOwnSenderKey } from './baileys-sender-key-rotation.js';
import { GroupMetadataCache } from './group-metadata-cache.js';
import { sessionAgents, type MediaAgentOptions } from './proxy-agent.js';
import type { ProxyPolicy } from '../util/proxy-url.js';
import { checkNumbers, lidOf, openMedia } from './baileys-lookups.js';
import type { WhatsAppAuthState } from '../storage/types.js';
import type {
  GroupEvent,
  NotifiedMember,
  IncomingCall,
  IncomingMessage,
  IncomingUpdate,
  MessageReceipt,
  OutgoingContent,
  PresenceUpdate,
  ReadKey,
  SendOptions,
  WhatsAppConnection,
  WhatsAppConnector,
  WhatsAppConnectParams,
} from './types.js';

export interface BaileysConnectorOptions {
  websocketUrl: string;
  version: WAVersion;
  qrTimeoutMs: number | undefined;
  /** Baileys' own logs (a child of the worker's logger, at its own level). */
  logger: Logger;
  /**
   * Media hosts: downloads go only to `*.whatsapp.net` and `extraHosts` (an emulator's);
   * `agent` carries TLS settings for uploads and downloads (e.g. an extra CA), `ca` the same through a proxy.
   */
  media?: MediaAgentOptions & { extraHosts: readonly string[]; timeoutMs?: number | undefined };
  /** Where a number's own proxy may be (PROXY_ALLOWED_HOSTS) and the operator's (PROXY_URL, unchecked); default: public addresses only. */
  proxyPolicy?: ProxyPolicy | undefined;
  /** Groups whose metadata each session keeps for its sends (GROUP_METADATA_CACHE_SIZE); 0: none, Baileys asks WhatsApp before every group send. */
  groupMetadataCacheSize?: number | undefined;
}

/**
 * A receipt no message claimed for this long is sent anyway (see `ReceiptGate.releaseUnclaimed`).
 * Long: Baileys buffers the events of a big offline backlog for a while before emitting them.
 */
const UNCLAIMED_RECEIPT_MS = 10 * 60_000;

/** `p`'s value, or undefined when it fails or takes longer than `ms`. */
function withTimeout<T>(p: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([p.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/**
 * The one place the opaque auth state becomes Baileys' again. Sound because the only producer is
 * storage (JournaledAuthState, and the test fakes), which builds it as a Baileys
 * `AuthenticationState`; everything between storage and here only carries it (storage/types.ts).
 */
function baileysAuthState(state: WhatsAppAuthState): AuthenticationState {
  return state as AuthenticationState;
}

/**
 * The WhatsApp boundary implemented with Baileys. It only translates: Baileys' events become
 * `WhatsAppEvent`s, `creds.update` is handed to the auth state. All decisions are the session's.
 */
export function createBaileysConnector(opts: BaileysConnectorOptions): WhatsAppConnector {
  return {
    connect({ sessionId, auth, onEvent, settings }: WhatsAppConnectParams): WhatsAppConnection {
      let ended = false;
      const emit: typeof onEvent = (event) => {
        if (!ended) onEvent(event);
      };
      const state = baileysAuthState(auth.state);
      const log = opts.logger.child({ sessionId });
      const receipts = new ReceiptGate((err, messageId) => log.debug({ err, messageId }, 'delivery receipt not sent (WhatsApp will redeliver)'));
      const historyReceipts = new HistoryReceipts(receipts);
      // Which history Baileys downloads (the number's historySync setting); the connector must know
      // it too: a notification Baileys will not process is receipted at once (see baileys-history.ts).
      const history = historySyncConfig(settings?.historySync ?? 'recent');
      const shouldSyncHistoryMessage = history.shouldSyncHistoryMessage;
      const cacheSize = opts.groupMetadataCacheSize ?? 256;
      const groupCache = cacheSize > 0 ? new GroupMetadataCache(cacheSize) : undefined;
      // group events go out in order, each after the sender-key rotation it may call for
      let groupChain: Promise<void> = Promise.resolve();
      const sweep = setInterval(() => receipts.releaseUnclaimed(UNCLAIMED_RECEIPT_MS), UNCLAIMED_RECEIPT_MS / 4);
      sweep.unref();
      // the number's proxy (settings `proxy`) carries the WebSocket, uploads and downloads: never around it
      const agents = sessionAgents(settings?.proxy, opts.media, opts.proxyPolicy);
      const sock = makeWASocket({
        waWebSocketUrl: opts.websocketUrl,
        version: opts.version,
        auth: state,
        // The expected 515 restart after a new link logs at info, not error (baileys-logger.ts).
        logger: baileysLogger(log),
        // At-least-once from WhatsApp: the receipt that makes WhatsApp drop a message waits until the
        // session acknowledges the message (its event is confirmed); see receipt-gate.ts.
        holdIncomingReceipt: (key, release) => receipts.hold(key.id, release),
        browser: Browsers.ubuntu('Chrome'),
        ...(opts.qrTimeoutMs ? { qrTimeout: opts.qrTimeoutMs } : {}),
        // A headless worker keeps no chat store: no presence (the session announces it itself when
        // the number's alwaysOnline asks), no link previews; history as the number's historySync
        // says (default recent: Baileys learns LID mappings from the initial history sync).
        markOnlineOnConnect: false,
        ...history,
        generateHighQualityLinkPreview: false,
        fireInitQueries: true,
        getMessage: async () => undefined,
        ...(agents.socket ? { agent: agents.socket } : {}),
        ...(agents.media ? { fetchAgent: agents.media } : {}),
        // group sends read the metadata from the session's cache (group-metadata-cache.ts), not from WhatsApp each time
        ...(groupCache ? { cachedGroupMetadata: (jid: string) => groupCache.getOrFetch(jid, (g) => sock.groupMetadata(g)) } : {}),
      });
      const download: MediaDownloadOptions = { extraHosts: opts.media?.extraHosts ?? [], agent: agents.media, timeoutMs: opts.media?.timeoutMs ?? 60_000 };

      sock.ev.on('creds.update', () => auth.saveCreds());
      sock.ev.on('connection.update', (update) => {
        if (update.qr) emit({ type: 'qr', qr: update.qr });
        if (update.connection === 'open') {
          const me = sock.user ?? state.creds.me;
          const jid = me?.id ?? '';
          emit({
            type: 'open',
            account: { jid, phoneNumber: jid.split(/[:@]/)[0] ?? '', ...(me?.lid ? { lid: me.lid } : {}) },
          });
        }
        if (update.connection === 'close') {
          const error = update.lastDisconnect?.error as { output?: { statusCode?: number }; message?: string } | undefined;
          emit(agents.closeEvent(error?.output?.statusCode, error?.message ?? 'connection closed'));
          ended = true;
          receipts.close();
          historyReceipts.clear();
          clearInterval(sweep);
        }
      });

      // Messages from others, live ('notify') or replayed after an offline period ('append').
      // Each message the session gets carries the release of its held receipt; any other one is
      // receipted at once (nobody will publish it).
      sock.ev.on('messages.upsert', ({ messages, type }) => {
        if (type === 'notify' || type === 'append') onGroupStubs(messages);
        const incoming: IncomingMessage[] = [];
        const self = sock.user ?? state.creds.me;
        const updates: IncomingUpdate[] = [];
        for (const m of messages) {
          // A history notification's receipts wait for its chunk's events (baileys-history.ts).
          if (m.key.id && processedHistoryNotification(m, shouldSyncHistoryMessage)) {
            historyReceipts.park(m.key.id);
            continue;
          }
          const acknowledge = receipts.take(m.key.id);
          // Reactions, edits and revokes: published as updates, receipted the same way.
          const update = type === 'notify' || type === 'append' ? toIncomingUpdate(m) : undefined;
          if (update) {
            updates.push({ ...update, acknowledge: acknowledge ?? noop });
            continue;
          }
          const message = type === 'notify' || type === 'append' ? toIncomingMessage(m, () => openMedia(sock, m, download), [self?.id, self?.lid]) : undefined;
          if (message) incoming.push({ ...message, acknowledge: acknowledge ?? noop, markRead: () => sock.readMessages([m.key]) });
          else acknowledge?.();
        }
        if (type !== 'notify' && type !== 'append') return;
        if (incoming.length) emit({ type: 'messages', messages: incoming, offline: type === 'append' });
        if (updates.length) emit({ type: 'updates', updates, offline: type === 'append' });
        // While Baileys buffers events (e.g. during the first sync), a receipt for a message we
        // just sent is merged into the buffered upsert of that message instead of being emitted
        // as 'messages.update': read it from there.
        const merged: MessageReceipt[] = [];
        // Only delivery and later (an upsert's own SERVER_ACK says nothing new), and never for
        // Baileys' own protocol traffic (app-state and peer messages to our own devices).
        const me = sock.user ?? state.creds.me;
        for (const m of messages) {
          const status = receiptStatus(m.status);
          if (!status || status === 'server_ack' || !m.key.fromMe || !m.key.id || !m.key.remoteJid) continue;
          if (m.message?.protocolMessage || areJidsSameUser(m.key.remoteJid, me?.id) || areJidsSameUser(m.key.remoteJid, me?.lid)) continue;
          merged.push({ messageId: m.key.id, chat: m.key.remoteJid, status });
        }
        // group members' receipts merged the same way (`userReceipt`)
        for (const m of messages) {
          if (!m.key.remoteJid?.endsWith('@g.us')) continue;
          for (const r of m.userReceipt ?? []) {
            const member = toMemberReceipt(m.key, r);
            if (member) merged.push(member);
          }
        }
        if (merged.length) emit({ type: 'receipts', receipts: merged });
      });
      // Group notifications (w:gp2): a `<create>` brings the whole metadata; the rest arrive as stubs (onGroupStubs).
      sock.ev.on('groups.upsert', (groups) => {
        for (const g of groups) groupCache?.set(g);
      });
      const isMe = (m: NotifiedMember): boolean => {
        const me = sock.user ?? state.creds.me;
        const user = (jid: string | undefined) => jid?.split(/[:@]/)[0];
        return (!!m.pn && user(m.pn) === user(me?.id)) || (!!m.lid && !!me?.lid && user(m.lid) === user(me.lid));
      };
      const onGroupStubs = (messages: WAMessage[]): void => {
        const events: GroupEvent[] = [];
        for (const m of messages) events.push(...toGroupEvents(m, isMe, (jid) => groupCache?.get(jid)));
        if (!events.length) return;
        for (const e of events) groupCache?.apply(e, isMe);
        // members left: the account's next message there must use a new sender key (baileys-sender-key-rotation.ts)
        const rotate = [
          ...new Set(
            events
              .filter((e) => e.kind === 'participants_changed' && (e.action === 'removed' || e.action === 'left') && !e.participants.some(isMe))
              .map((e) => e.group),
          ),
        ];
        groupChain = groupChain
          .then(async () => {
            const me = sock.user ?? state.creds.me;
            for (const group of rotate) await rotateOwnSenderKey(state.keys, group, { id: me?.id, lid: me?.lid });
            // added to an existing group: its subject and size come from WhatsApp (which also fills the cache for sends)
            for (const [i, e] of events.entries()) {
              if (e.kind !== 'joined' || e.participantCount !== undefined) continue;
              const metadata = await withTimeout(groupCache ? groupCache.getOrFetch(e.group, (g) => sock.groupMetadata(g)) : sock.groupMetadata(e.group), 5000);
              if (metadata) events[i] = { ...e, subject: String(metadata.subject ?? '').slice(0, 2048), participantCount: metadata.participants.length };
            }
          })
          .catch((err: unknown) => log.warn({ err }, 'group notification follow-up failed (sender key rotation or metadata); the events go out as they are'))
          .then(() => emit({ type: 'groups', events }));
      };
      // The history the phone sends after linking, one chunk (or several merged) at a time.
      sock.ev.on('messaging-history.set', (set) => {
        const me = sock.user ?? state.creds.me;
        const account = { ...(me?.id ? { pn: jidNormalizedUser(me.id) } : {}), ...(me?.lid ? { lid: jidNormalizedUser(me.lid) } : {}) };
        emit({ type: 'history', chunk: toHistoryChunk(set, account, historyReceipts.claim(set.historyNotificationIds)) });
      });
      // 1:1 receipts (and server errors) arrive as status updates of our own messages…
      sock.ev.on('messages.update', (updates) => {
        const receipts: MessageReceipt[] = [];
        for (const { key, update } of updates) {
          const status = receiptStatus(update.status);
          if (!status || !key.fromMe || !key.id || !key.remoteJid) continue;
          const at = update.messageTimestamp ? Number(update.messageTimestamp) * 1000 : undefined;
          receipts.push({ messageId: key.id, chat: key.remoteJid, status, ...(at ? { at } : {}) });
        }
        if (receipts.length) emit({ type: 'receipts', receipts });
      });
      // …group receipts per member.
      sock.ev.on('message-receipt.update', (updates) => {
        const receipts: MessageReceipt[] = [];
        for (const { key, receipt } of updates) {
          const member = toMemberReceipt(key, receipt);
          if (member) receipts.push(member);
        }
        if (receipts.length) emit({ type: 'receipts', receipts });
      });

      // Calls to the account: offers and their end (Baileys acks each stanza itself).
      sock.ev.on('call', (events) => {
        const calls = events.map(toIncomingCall).filter((c): c is IncomingCall => c !== undefined);
        if (calls.length) emit({ type: 'calls', calls });
      });
      watchPresence(sock, emit);

      return {
        sendMessage: async (jid: string, content: OutgoingContent, options: SendOptions) => {
          const quoted: WAMessage | undefined = options.quoted
            ? {
                key: {
                  remoteJid: jid,
                  id: options.quoted.id,
                  fromMe: options.quoted.fromMe,
                  ...(options.quoted.participant ? { participant: options.quoted.participant } : {}),
                },
                message: { conversation: options.quoted.text ?? '' },
              }
            : undefined;
          const sent = await sock.sendMessage(jid, toBaileysContent(jid, content, options.mentions), {
            messageId: options.messageId,
            ...(quoted ? { quoted } : {}),
          });
          const ts = sent?.messageTimestamp ? Number(sent.messageTimestamp) * 1000 : Date.now();
          return { messageId: sent?.key.id ?? options.messageId, sentAt: ts };
        },
        isOnWhatsApp: async (jid: string) => {
          const [result] = (await sock.onWhatsApp(jid)) ?? [];
          return !!result?.exists;
        },
        checkNumbers: (phoneJids: readonly string[]) => checkNumbers(sock, phoneJids),
        markRead: async (chatJid: string, messages: readonly ReadKey[]) => {
          // Contacts write from their LID (remoteJidAlt = PN): the receipt goes where the messages came from
          // (in a group, the chat is the group and the sender, `participant`, is named by its LID when known).
          const lidOrSelf = async (jid: string) => (jid.endsWith('@s.whatsapp.net') ? ((await lidOf(sock, jid)) ?? jid) : jid);
          const remoteJid = await lidOrSelf(chatJid);
          const keys = [];
          for (const m of messages)
            keys.push({ remoteJid, id: m.id, fromMe: false, ...(m.participant ? { participant: await lidOrSelf(m.participant) } : {}) });
          await sock.readMessages(keys);
        },
        sendPresence: async (state: PresenceUpdate, phoneJid?: string) => {
          if ((state === 'available' || state === 'unavailable') && !sock.authState.creds.me?.name) {
            // rc14 drops it silently (a warning) without a push name: say so instead of claiming it was sent.
            throw new Error('WhatsApp has not told this account its push name yet; Baileys sends no presence without one');
          }
          await sock.sendPresenceUpdate(state, phoneJid);
        },
        rejectCall: (callId: string, callerJid: string) => sock.rejectCall(callId, callerJid),
        subscribePresence: (jid) => subscribePresence(sock, jid),
        fetchProfile: (jid) => fetchProfile(sock, jid),
        setProfileName: (name) => sock.updateProfileName(name),
        setProfileAbout: (about) => sock.updateProfileStatus(about),
        setProfilePicture: (image) => setProfilePicture(sock, image),
        setBlocked: (jid, blocked) => setBlocked(sock, jid, blocked),
        createGroup: (subject, participants) => groups.createGroup(sock, subject, participants),
        groupMetadata: (jid) => groups.groupMetadata(sock, jid),
        listGroups: () => groups.listGroups(sock),
        updateGroup: (jid, change) => groups.updateGroup(sock, jid, change),
        updateGroupParticipants: (jid, participants, operation) => groups.updateGroupParticipants(sock, jid, participants, operation),
        groupInviteCode: (jid, revoke) => groups.groupInviteCode(sock, jid, revoke),
        joinGroup: (code) => groups.joinGroup(sock, code),
        groupInviteInfo: (code) => groups.groupInviteInfo(sock, code),
        leaveGroup: (jid) => groups.leaveGroup(sock, jid),
        groupJoinRequests: (jid) => groups.groupJoinRequests(sock, jid),
        answerJoinRequests: (jid, participants, approve) => groups.answerJoinRequests(sock, jid, participants, approve),
        editMessage: async (jid: string, messageId: string, text: string, { editId }: { editId: string }) => {
          const sent = await sock.sendMessage(jid, { text, edit: { remoteJid: jid, fromMe: true, id: messageId } }, { messageId: editId });
          return { sentAt: sent?.messageTimestamp ? Number(sent.messageTimestamp) * 1000 : Date.now() };
        },
        deleteMessage: async (jid: string, message: { id: string; fromMe: boolean; participant?: string }, { revokeId }: { revokeId: string }) => {
          // A group and fromMe false: Baileys marks the stanza as an admin revoke (edit="8").
          const key = { remoteJid: jid, fromMe: message.fromMe, id: message.id, ...(message.participant ? { participant: message.participant } : {}) };
          const sent = await sock.sendMessage(jid, { delete: key }, { messageId: revokeId });
          return { sentAt: sent?.messageTimestamp ? Number(sent.messageTimestamp) * 1000 : Date.now() };
        },
        requestPairingCode: (phoneDigits) => sock.requestPairingCode(phoneDigits),
        logout: () => sock.logout(),
        end: () => {
          if (ended) return;
          ended = true;
          receipts.close();
          historyReceipts.clear();
          clearInterval(sweep);
          // rc14's end() is async: a failure closing an already broken socket must not become an
          // unhandled rejection (the socket is gone either way).
          sock.end(undefined).catch((err: unknown) => opts.logger.debug({ err }, 'closing the socket failed'));
        },
      };
    },
  };
}

const noop = (): void => undefined;
