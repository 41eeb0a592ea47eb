import type { EmulatorServer, EmulatorState } from '../../test/emulator/index.js';
import type { Backend, Observed } from './backend.js';
import type { ChaosNumber, Command, Incoming } from './load.js';
import type { MemoryVerdict } from './memory.js';
import type { SocketMonitor } from './monitor.js';

/** What the emulator reports per account once it tracks acknowledgements (absent on older emulators). */
interface AccountExtras {
  unacked?: number;
  redelivered?: number;
  maxConcurrentConnections?: number;
  loginConflicts?: number;
  duplicateSends?: number;
}
export type AccountState = EmulatorState['accounts'][number] & AccountExtras;

export interface RestartCheck {
  exitCode: number | null;
  /** sessions that did not reach connected after the restart */
  missing: string[];
  qrAfterRestart: number;
  ms: number;
  error?: string;
}

export interface Verdict {
  id: number;
  name: string;
  pass: boolean | 'n/a';
  counts: string;
  detail: string[];
}

export interface Evidence {
  incoming: Incoming[];
  commands: Command[];
  backend: Backend;
  emu: EmulatorServer;
  monitor: SocketMonitor;
  numbers: ChaosNumber[];
  restart: RestartCheck;
  memory: MemoryVerdict;
  /** message ids a contact could not decrypt (emulator log), with why */
  undecryptable: Map<string, string>;
  /** worker processes that exited without being asked to */
  crashes: string[];
}

const SEND_ANSWERS = new Set(['message_sent', 'message_failed', 'command_rejected']);
const CREATE_ANSWERS = new Set(['qr_generated', 'connected', 'command_rejected']);
const sample = (xs: string[], n = 5): string => (xs.length > n ? `${xs.slice(0, n).join(', ')} … (+${xs.length - n})` : xs.join(', '));

export const accountsOf = (emu: EmulatorServer): AccountState[] => emu.state().accounts as AccountState[];

function byRequest(events: Observed[]): Map<string, Observed[]> {
  const out = new Map<string, Observed[]>();
  for (const e of events) if (e.requestId) out.set(e.requestId, [...(out.get(e.requestId) ?? []), e]);
  return out;
}

/** 1. Every incoming message id published at least once as message_received. */
function incomingPublished(ev: Evidence): Verdict {
  const published = new Map<string, number>();
  for (const e of ev.backend.events) if (e.kind === 'message_received' && e.messageId) published.set(e.messageId, (published.get(e.messageId) ?? 0) + 1);
  const ids = new Set(ev.incoming.map((i) => i.id));
  const missing = ev.incoming.filter((i) => !published.has(i.id));
  const duplicates = [...ids].reduce((n, id) => n + Math.max(0, (published.get(id) ?? 0) - 1), 0) + (ev.backend.republished.get('message_received') ?? 0);
  const others = [...published.keys()].filter((id) => !ids.has(id)).length;
  const detail = missing.length
    ? [`missing: ${sample(missing.map((m) => `${m.id} (${m.from} → ${m.to.phone} at ${new Date(m.at).toISOString().slice(11, 23)})`))}`]
    : [];
  if (others) detail.push(`${others} message_received for ids the load did not send (history bootstrap?)`);
  return {
    id: 1,
    name: 'incoming → message_received',
    pass: missing.length === 0,
    counts: `in ${ids.size}, published ${ids.size - missing.length}, missing ${missing.length}, duplicates ${duplicates}`,
    detail,
  };
}

/** 2. Every accepted send_message reached its contact exactly once, and was answered. */
function sentExactlyOnce(ev: Evidence): Verdict {
  const answers = byRequest(ev.backend.events);
  const got = new Map<string, number>();
  for (const contact of new Set(ev.commands.map((c) => c.contact).filter((c): c is string => !!c)))
    for (const m of ev.emu.receivedBy(contact)) got.set(`${contact}/${m.id}`, (got.get(`${contact}/${m.id}`) ?? 0) + 1);
  const sends = ev.commands.filter((c) => c.action === 'send_message' && c.accepted);
  const why = (id: string | undefined) => {
    const reason = id === undefined ? undefined : ev.undecryptable.get(id);
    return reason ? ` (${id}: the contact could not decrypt it, ${reason})` : ` (${id})`;
  };
  const failCodes = new Map<string, number>();
  const tally = { once: 0, failedCleanly: 0, lost: [] as string[], duplicated: [] as string[], failedButDelivered: [] as string[], unanswered: [] as string[] };
  for (const c of sends) {
    const n = got.get(`${c.contact}/${c.expectedMessageId}`) ?? 0;
    const mine = (answers.get(c.requestId) ?? []).filter((e) => SEND_ANSWERS.has(e.kind));
    const sent = mine.some((e) => e.kind === 'message_sent');
    const failure = mine.find((e) => e.kind !== 'message_sent')?.body;
    // the reason's parenthesis says which state the session was in ("not started": not restored yet)
    const state = /\(([^)]*)\)/.exec(String(failure?.reason ?? ''))?.[1];
    const code = `${failure?.code ?? '?'}${state ? ` (${state})` : ''}`;
    if (n > 1) tally.duplicated.push(`${c.requestId} ×${n}`);
    else if (!sent && !failure) tally.unanswered.push(`${c.requestId}${n ? ' (delivered)' : ''}`);
    else if (sent && n === 0) tally.lost.push(`${c.requestId}${why(c.expectedMessageId)}`);
    else if (!sent && n === 1) tally.failedButDelivered.push(`${c.requestId} (${code})`);
    else if (n === 1) tally.once++;
    else {
      tally.failedCleanly++;
      failCodes.set(code, (failCodes.get(code) ?? 0) + 1);
    }
  }
  const resends = accountsOf(ev.emu).reduce<number | undefined>((sum, a) => (a.duplicateSends === undefined ? sum : (sum ?? 0) + a.duplicateSends), undefined);
  const detail: string[] = [];
  if (tally.lost.length) detail.push(`message_sent but never received: ${sample(tally.lost)}`);
  if (tally.duplicated.length) detail.push(`received more than once: ${sample(tally.duplicated)}`);
  if (tally.failedButDelivered.length) detail.push(`message_failed but the contact has it: ${sample(tally.failedButDelivered)}`);
  if (tally.unanswered.length) detail.push(`never answered: ${sample(tally.unanswered)}`);
  if (failCodes.size) detail.push(`failed cleanly (answered message_failed, nothing delivered): ${[...failCodes].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  return {
    id: 2,
    name: 'send_message sent exactly once',
    pass: tally.lost.length + tally.duplicated.length + tally.failedButDelivered.length + tally.unanswered.length === 0,
    counts:
      `accepted ${sends.length}: once ${tally.once}, failed cleanly ${tally.failedCleanly}, lost ${tally.lost.length}, ` +
      `duplicated ${tally.duplicated.length}, failed-but-delivered ${tally.failedButDelivered.length}, unanswered ${tally.unanswered.length}; ` +
      `resends seen by the emulator ${resends ?? 'n/a'}`,
    detail,
  };
}

/** 3. Every command the broker accepted was answered or dead-lettered. */
function commandsAnswered(ev: Evidence): Verdict {
  const answers = byRequest(ev.backend.events);
  const dead = new Set(ev.backend.deadLetters.map((d) => d.requestId).filter((r): r is string => !!r));
  const accepted = ev.commands.filter((c) => c.accepted);
  const notAccepted = ev.commands.filter((c) => !c.accepted);
  // A create carries no requestId (the backend sends none): what answers it is its session's QR or connection.
  const isAnswered = (c: Command) =>
    c.action === 'create'
      ? ev.backend.events.some((e) => CREATE_ANSWERS.has(e.kind) && e.sessionId === c.number.sessionId && e.timestamp >= c.publishedAt - 1000)
      : answers.has(c.requestId);
  const answered = accepted.filter(isAnswered);
  const deadLettered = accepted.filter((c) => !isAnswered(c) && dead.has(c.requestId));
  const unanswered = accepted.filter((c) => !isAnswered(c) && !dead.has(c.requestId));
  const detail: string[] = [];
  if (unanswered.length) detail.push(`unanswered: ${sample(unanswered.map((c) => `${c.requestId} (${c.action} ${c.number.phone})`))}`);
  if (notAccepted.length) detail.push(`never confirmed by the broker (not counted): ${sample(notAccepted.map((c) => `${c.requestId}: ${c.error ?? '?'}`))}`);
  if (ev.backend.deadLetters.length)
    detail.push(`dead letters: ${sample(ev.backend.deadLetters.map((d) => `${d.requestId ?? '?'} ${d.code ?? ''} ${d.reason ?? ''}`.trim()))}`);
  return {
    id: 3,
    name: 'every command answered or dead-lettered',
    pass: unanswered.length === 0,
    counts: `commands ${accepted.length} (+${notAccepted.length} unconfirmed), answered ${answered.length}, dead-lettered ${deadLettered.length}, unanswered ${unanswered.length}`,
    detail,
  };
}

/** 4. At most one socket per number at any instant, and no login conflicts. */
function oneSocketPerNumber(ev: Evidence): Verdict {
  const accounts = new Map(accountsOf(ev.emu).map((a) => [a.phone, a]));
  const rows = ev.numbers.map((n) => {
    const a = accounts.get(n.digits);
    const exact = a?.maxConcurrentConnections;
    return {
      phone: n.phone,
      max: exact ?? ev.monitor.max.get(n.digits) ?? 0,
      source: exact === undefined ? 'sampled' : 'emulator',
      conflicts: a?.loginConflicts,
    };
  });
  const bad = rows.filter((r) => r.max > 1 || (r.conflicts ?? 0) > 0);
  const conflictsKnown = rows.every((r) => r.conflicts !== undefined);
  const detail = bad.map((r) => `${r.phone}: ${r.max} sockets at once (${r.source}), login conflicts ${r.conflicts ?? 'n/a'}`);
  if (!conflictsKnown) detail.push('the emulator reports no loginConflicts: only the socket count was checked');
  return {
    id: 4,
    name: 'at most one socket per number',
    pass: bad.length === 0,
    counts: `max sockets per number ${Math.max(0, ...rows.map((r) => r.max))} (${rows[0]?.source ?? '-'}), login conflicts ${conflictsKnown ? rows.reduce((n, r) => n + (r.conflicts ?? 0), 0) : 'n/a'}`,
    detail,
  };
}

/** 5. No credential lost: a graceful restart brings every session back connected, without a QR. */
function credentialsKept(ev: Evidence): Verdict {
  const r = ev.restart;
  const detail: string[] = [];
  if (r.error) detail.push(r.error);
  if (r.missing.length) detail.push(`not connected after the restart: ${sample(r.missing)}`);
  return {
    id: 5,
    name: 'no credential lost (restart, no QR)',
    pass: r.exitCode === 0 && r.missing.length === 0 && r.qrAfterRestart === 0 && !r.error,
    counts: `SIGTERM exit ${r.exitCode}, connected ${ev.numbers.length - r.missing.length}/${ev.numbers.length} in ${(r.ms / 1000).toFixed(1)} s, qr_generated after restart ${r.qrAfterRestart}`,
    detail,
  };
}

function memoryFlat(ev: Evidence): Verdict {
  const m = ev.memory;
  return { id: 6, name: 'memory flat (final worker RSS)', pass: m.pass, counts: m.note, detail: [] };
}

/** 7. Not asked for, but nothing else may explain a gap: no worker process died on its own. */
function noCrash(ev: Evidence): Verdict {
  return {
    id: 7,
    name: 'the worker never died on its own',
    pass: ev.crashes.length === 0,
    counts: `unexpected exits ${ev.crashes.length}`,
    detail: ev.crashes,
  };
}

export function checkInvariants(ev: Evidence): Verdict[] {
  return [incomingPublished(ev), sentExactlyOnce(ev), commandsAnswered(ev), oneSocketPerNumber(ev), credentialsKept(ev), memoryFlat(ev), noCrash(ev)];
}
