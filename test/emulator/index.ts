/** Offline WhatsApp Web emulator for end-to-end tests of Baileys-based code. */
export { startEmulator, EmulatorServer } from './server.js';
export { installStrictCertVerification, strictVerify, trustRoot } from './strict-verify.js';
export { startControlServer } from './control-http.js';
// The phone side of a link without the QR round trip (the benchmark seeds hundreds of accounts so).
export { buildPairSuccess, type PairSuccessInput } from './registration.js';
export { normalizePhone } from './accounts.js';
// How many retry receipts an emulated contact sends per message before it reports the message undecryptable.
export { MAX_RETRY_RECEIPTS } from './contact-retry.js';
export type { PhoneHistory, PhoneConversation, PhoneHistoryMessage } from './phone-history.js';
export type { CallReject, Emulator, EmulatorOptions, EmulatorState, FaultKind, GroupState, OutgoingMedia, ReceivedMessage, SendResult } from './types.js';
// Poll votes as WhatsApp clients encrypt them, and the poll a contact received.
export { encryptPollVote, pollVoteMessage, receivedPoll } from './poll-votes.js';
