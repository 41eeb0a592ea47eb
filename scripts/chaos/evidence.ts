import { writeFileSync } from 'node:fs';
import type { Backend } from './backend.js';
import type { EmulatorLog } from './emulator-log.js';
import type { FaultInjector } from './faults.js';
import type { Load } from './load.js';
import type { EmulatorServer } from '../../test/emulator/index.js';

/**
 * Everything the run sent and saw, as one JSON file beside the worker's log: a failed invariant
 * names ids; this file gives their timeline (when each was sent, what answered it, which fault
 * struck when), for the post-mortem.
 */
export function writeEvidence(
  file: string,
  run: { load: Load; backend: Backend; faults: FaultInjector; emuLog: EmulatorLog; emu: EmulatorServer; started: number },
): void {
  const at = (t: number) => new Date(t).toISOString();
  const answers = new Map<string, string[]>();
  for (const e of run.backend.events)
    if (e.requestId) answers.set(e.requestId, [...(answers.get(e.requestId) ?? []), `${e.kind}${e.body.code ? ` ${e.body.code}` : ''} @${at(e.timestamp)}`]);
  const received = new Map<string, string[]>();
  for (const e of run.backend.events)
    if (e.kind === 'message_received' && e.messageId) received.set(e.messageId, [...(received.get(e.messageId) ?? []), at(e.timestamp)]);
  const evidence = {
    started: at(run.started),
    faults: run.faults.records.map((r) => ({ ...r, at: at(r.at) })),
    incoming: run.load.incoming.map((i) => ({ id: i.id, from: i.from, to: i.to.phone, sentAt: at(i.at), published: received.get(i.id) ?? [] })),
    commands: run.load.commands.map((c) => ({
      requestId: c.requestId,
      action: c.action,
      number: c.number.phone,
      contact: c.contact,
      messageId: c.expectedMessageId,
      publishedAt: at(c.publishedAt),
      accepted: c.accepted,
      answers: answers.get(c.requestId) ?? [],
      // what the contact holds under that id: when it was sent (WhatsApp's t, seconds) and from which device
      delivered: c.contact
        ? run.emu
            .receivedBy(c.contact)
            .filter((m) => m.id === c.expectedMessageId)
            .map((m) => ({ t: at(m.t * 1000), fromDevice: m.fromDevice }))
        : [],
      ...(c.expectedMessageId && run.emuLog.undecryptable.has(c.expectedMessageId) ? { undecryptable: run.emuLog.undecryptable.get(c.expectedMessageId) } : {}),
    })),
    deadLetters: run.backend.deadLetters,
  };
  writeFileSync(file, JSON.stringify(evidence, null, 1));
}
