/** Offline WhatsApp Web emulator for end-to-end tests of Baileys-based code. */
export { startEmulator, EmulatorServer } from './server.js';
export { installStrictCertVerification, strictVerify, trustRoot } from './strict-verify.js';
export { startControlServer } from './control-http.js';
export type {
  Emulator,
  EmulatorOptions,
  EmulatorState,
  FaultKind,
  OutgoingMedia,
  ReceivedMessage,
  SendResult,
} from './types.js';
