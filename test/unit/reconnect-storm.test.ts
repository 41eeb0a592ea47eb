import type { SessionCommand } from '../../src/commands/command.js';
import { sessionIdFor } from '../../src/commands/session-identity.js';
import { OpeningGate } from '../../src/sessions/opening-gate.js';
import { SessionManager } from '../../src/sessions/session-manager.js';
import { FakeConnector, type FakeSocket } from '../fakes/fake-whatsapp.js';
import { RecordingEvents } from '../fakes/recording-events.js';
import { testSessionDeps } from '../fakes/session-deps.js';
import { waitFor } from '../helpers/wait.js';

const numbers = (n: number) => Array.from({ length: n }, (_, i) => ({ numberId: i + 1, phoneNumber: `+2217710${String(i).padStart(5, '0')}` }));

function cmd(action: SessionCommand['action'], n: { numberId: number; phoneNumber: string }): SessionCommand {
  return {
    action,
    ...n,
    sessionId: sessionIdFor(n.numberId, n.phoneNumber),
    workerId: 'w1',
    requestId: `req-${action}-${n.numberId}`,
    backendSessionId: undefined,
    issuedAt: undefined,
  };
}

/**
 * `count` linked sessions under one gate of `max`, and a watch on the fake WhatsApp: a socket is
 * opening from its creation until the test answers it (`open`); the most seen at once is kept.
 */
async function linkedSessions(count: number, max: number) {
  const connector = new FakeConnector();
  const events = new RecordingEvents('w1');
  const gate = new OpeningGate({ max });
  const manager = new SessionManager(testSessionDeps({ connector, events, messaging: undefined, openingGate: gate }), {
    maxSessions: count,
    restoreConcurrency: 2,
    restoreSettleTimeoutMs: 1000,
  });
  const answered = new Set<FakeSocket>();
  const opening = () => connector.sockets.filter((s) => !answered.has(s) && !s.ended);
  let mostOpening = 0;
  connector.onConnect = () => (mostOpening = Math.max(mostOpening, opening().length));
  const answer = (socket: FakeSocket) => {
    answered.add(socket);
    socket.open(socket.sessionId.slice(-12));
  };

  const all = numbers(count);
  await Promise.all(all.map((n) => manager.execute(cmd('create', n))));
  for (const socket of [...connector.sockets]) answer(socket);
  const ids = all.map((n) => sessionIdFor(n.numberId, n.phoneNumber));
  const statuses = () => ids.map((id) => manager.get(id)?.status);
  await waitFor(() => statuses().every((s) => s === 'connected'), 'every session connected');
  mostOpening = 0;
  return { connector, gate, manager, all, ids, statuses, opening, answer, mostOpening: () => mostOpening };
}

describe('reconnect storm under the opening gate', () => {
  it('50 sessions dropped at once reconnect at most 4 at a time, and all end connected', async () => {
    const s = await linkedSessions(50, 4);
    const before = new Set(s.connector.sockets);
    // A CPU stall: every keep-alive missed, every socket closes with a retryable reason at once.
    for (const id of s.ids) s.connector.latest(id)!.close(503, 'Stream Errored');

    // Every retry has fired: each session has a new socket or waits for a slot.
    const fresh = () => s.connector.sockets.filter((sock) => !before.has(sock));
    await waitFor(() => fresh().length + s.gate.queued === 50, 'every retry fired', {
      detail: () => `${fresh().length} new sockets, ${s.gate.queued} waiting`,
    });
    expect(s.mostOpening()).toBeLessThanOrEqual(4);
    const waiting = s.ids.filter((id) => s.connector.latest(id)!.ended || before.has(s.connector.latest(id)!));
    expect(waiting.length).toBe(46);
    // Waiting for the gate is still `reconnecting`.
    for (const id of waiting) expect(s.manager.get(id)!.status).toBe('reconnecting');

    // WhatsApp answers each socket as it comes: the lanes refill, never past 4.
    while (s.statuses().some((st) => st !== 'connected')) {
      await waitFor(() => s.opening().length > 0 || s.statuses().every((st) => st === 'connected'), 'a socket to answer', {
        detail: () => `${s.gate.opening} opening, ${s.gate.queued} waiting`,
      });
      expect(s.opening().length).toBeLessThanOrEqual(4);
      for (const socket of s.opening()) s.answer(socket);
    }
    expect(s.mostOpening()).toBeLessThanOrEqual(4);
    expect(s.mostOpening()).toBe(4);
    expect(fresh()).toHaveLength(50);
    expect(s.gate.opening).toBe(0);
  });

  it('a session deleted while it waits for the gate never opens', async () => {
    const s = await linkedSessions(2, 1);
    const [first, second] = s.ids as [string, string];
    const before = new Set(s.connector.sockets);
    s.connector.latest(first)!.close(503, 'Stream Errored');
    s.connector.latest(second)!.close(503, 'Stream Errored');
    const fresh = () => s.connector.sockets.filter((sock) => !before.has(sock));
    await waitFor(() => fresh().length === 1 && s.gate.queued === 1, 'one retry opening, the other waiting');

    const holder = fresh()[0]!;
    const waiter = holder.sessionId === first ? s.all[1]! : s.all[0]!;
    const waiterId = sessionIdFor(waiter.numberId, waiter.phoneNumber);
    await s.manager.execute(cmd('delete', waiter));
    expect(s.manager.get(waiterId)).toBeUndefined();

    s.answer(holder);
    // The slot goes to the deleted session's wait, which gives it straight back.
    await waitFor(() => (s.gate.opening === 0 && s.gate.queued === 0) || fresh().length > 1, 'the gate empty');
    await waitFor(() => s.manager.get(holder.sessionId)?.status === 'connected', 'the other session connected');
    expect(fresh().map((sock) => sock.sessionId)).toEqual([holder.sessionId]);
  });

  it('a reconnect command does not queue behind the storm: it opens at once, counted in flight', async () => {
    const s = await linkedSessions(2, 1);
    const before = new Set(s.connector.sockets);
    for (const id of s.ids) s.connector.latest(id)!.close(503, 'Stream Errored');
    const fresh = () => s.connector.sockets.filter((sock) => !before.has(sock));
    await waitFor(() => fresh().length === 1 && s.gate.queued === 1, 'one retry opening, the other waiting');
    const holder = fresh()[0]!;
    const waiter = s.all.find((n) => sessionIdFor(n.numberId, n.phoneNumber) !== holder.sessionId)!;

    const next = s.connector.nextSocket();
    await s.manager.execute(cmd('reconnect', waiter));
    const opened = await next;
    expect(opened.sessionId).toBe(sessionIdFor(waiter.numberId, waiter.phoneNumber));
    expect(s.gate.opening).toBe(2);

    s.answer(holder);
    s.answer(opened);
    await waitFor(() => s.statuses().every((st) => st === 'connected'), 'both connected');
    // The superseded wait gave its slot back without opening a third socket.
    await waitFor(() => s.gate.opening === 0 && s.gate.queued === 0, 'the gate empty');
    expect(fresh()).toHaveLength(2);
  });
});
