import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { waitFor } from '../helpers/wait.js';
import { brokerScenario, startTestWorker } from '../helpers/worker-harness.js';
import { delayQueueName } from '../../src/broker/delay-queue.js';
import { workerEventSchemas } from '../../src/events/catalogue.js';

const PHONE = '+221771234567';

/** A worker with one connected number (numberId 6); `paced`: PACING_* 60 a minute, burst 1, no gap or jitter. */
async function pacedWorker(label: string, env: Record<string, string>, queueType: 'classic' | 'quorum' = 'classic', paced = true) {
  const scenario = await brokerScenario(label, { queueType });
  const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
  scenario.probe.track(heartbeatQueue);
  const workerId = `${label}-w`;
  scenario.workerQueue(workerId);
  const connector = new FakeConnector();
  connector.onConnect = (s) => s.open(PHONE.slice(1));
  const w = await startTestWorker({
    env: {
      ...scenario.env,
      QUEUE_WORKER_HEARTBEAT: heartbeatQueue,
      ...(paced ? { PACING_PER_MINUTE: '60', PACING_BURST: '1', PACING_MIN_GAP_MS: '0', PACING_JITTER_MS: '0' } : {}),
      ...env,
    },
    workerId,
    connector,
  });
  scenario.probe.track(delayQueueName(w.config));
  await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 6, phoneNumber: PHONE, workerId });
  await scenario.events.untilAction('connected');
  const send = (requestId: string) =>
    scenario.probe.publish(w.config.queues.commands, {
      action: 'send_message',
      numberId: 6,
      workerId,
      requestId,
      timestamp: Date.now(),
      data: { to: '+221770000001', type: 'text', text: `message ${requestId}` },
    });
  return { scenario, w, workerId, send, heartbeatQueue };
}

const sentAt = (messages: Array<{ action: string; requestId?: string; sentAt?: number }>, requestId: string) =>
  messages.find((m) => m.action === 'message_sent' && m.requestId === requestId)?.sentAt;

describe('send pacing against the real broker', () => {
  it('60/min burst 1: five sends leave at least a second apart, in order, while a status command is answered at once', async () => {
    const { scenario, w, workerId, send, heartbeatQueue } = await pacedWorker('pace', { HEARTBEAT_INTERVAL_MS: '200' });
    try {
      const beats = await scenario.probe.collect(heartbeatQueue, { declare: false });
      const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
      for (const id of ids) await send(id);
      const asked = Date.now();
      await scenario.probe.publish(w.config.queues.commands, { action: 'status', numberId: 6, workerId, requestId: 'st-1' });
      await scenario.events.untilAction('session_status', (e) => e.requestId === 'st-1');
      const answeredIn = Date.now() - asked;
      const sentByThen = scenario.messages.bodies().filter((m) => m.action === 'message_sent').length;
      // The five sends take four seconds at least; the status did not wait behind them.
      expect(sentByThen).toBeLessThan(4);
      expect(answeredIn).toBeLessThan(2500);
      // The heartbeat shows how far behind the number is.
      const behind = await beats.until((bs) => bs.find((b) => b.action === 'worker_heartbeat' && b.pacing?.[0]?.queued > 0), 10_000, 'a heartbeat with pacing');
      expect(behind.pacing[0]).toMatchObject({ numberId: 6, delayed: 0 });
      workerEventSchemas.worker_heartbeat.parse(behind);
      await scenario.messages.until((ms) => ms.filter((m) => m.action === 'message_sent').length === 5, 20_000, 'five message_sent');
      const times = ids.map((id) => sentAt(scenario.messages.bodies(), id)!);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
      expect(connector(w).sends.map((s) => s.content)).toEqual(ids.map((id) => expect.objectContaining({ text: `message ${id}` })));
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  }, 60_000);

  it.each(['classic', 'quorum'] as const)(
    'a send whose wait exceeds PACING_MAX_HOLD_MS goes through the delay queue and is sent after it, in order (%s queues)',
    async (queueType) => {
      const { scenario, w, send } = await pacedWorker(
        `pacedelay-${queueType}`,
        { PACING_MAX_HOLD_MS: '400', RABBITMQ_QUEUE_TYPE: queueType, COMMAND_MAX_AGE_MS: '1000' },
        queueType,
      );
      try {
        const settledBefore = w.worker.commandsSettled.own;
        const declared = await scenario.probe.channel.checkQueue(delayQueueName(w.config));
        expect(declared.queue).toBe(delayQueueName(w.config));
        for (const id of ['d1', 'd2', 'd3']) await send(id);
        // d1 goes at once; d2 (1 s away) and d3 (2 s away) wait longer than 400 ms: delay queue. d3
        // comes back older than COMMAND_MAX_AGE_MS: its wait was ours, so it is not refused as stale.
        await waitFor(() => w.worker.pacer.backlog().some((b) => b.delayed > 0), 'a send in the delay queue', { timeoutMs: 10_000, intervalMs: 10 });
        await scenario.messages.until((ms) => ms.filter((m) => m.action === 'message_sent').length === 3, 20_000, 'three message_sent');
        const times = ['d1', 'd2', 'd3'].map((id) => sentAt(scenario.messages.bodies(), id)!);
        expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
        expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(950);
        // Three deliveries, plus the two that came back from the delay queue; each message sent once.
        await waitFor(() => w.worker.commandsSettled.own - settledBefore >= 5, 'the returned deliveries settled', { timeoutMs: 10_000, intervalMs: 20 });
        expect(connector(w).sends).toHaveLength(3);
        expect(scenario.messages.bodies().filter((m) => m.action === 'message_sent')).toHaveLength(3);
        expect(await scenario.probe.messageCount(delayQueueName(w.config))).toBe(0);
        expect(w.worker.pacer.backlog()).toEqual([]);
        expect(scenario.events.bodies().filter((e) => e.action === 'command_rejected')).toEqual([]);
      } finally {
        await w.worker.stop(5000);
        await scenario.probe.close();
      }
    },
    60_000,
  );

  it("a number's own settings.pacing paces it on a worker with pacing off, and null puts it back", async () => {
    const { scenario, w, workerId, send } = await pacedWorker('paceown', {}, 'classic', false);
    try {
      const update = (requestId: string, pacing: unknown) =>
        scenario.probe.publish(w.config.queues.commands, { action: 'update_settings', numberId: 6, workerId, requestId, data: { settings: { pacing } } });
      await update('u1', { perMinute: 60, burst: 1, minGapMs: 0, jitterMs: 0 });
      const updated = await scenario.messages.untilAction('settings_updated', (m) => m.requestId === 'u1');
      expect(updated.settings.pacing).toEqual({ perMinute: 60, burst: 1, minGapMs: 0, jitterMs: 0, typing: false });
      for (const id of ['o1', 'o2', 'o3']) await send(id);
      await scenario.messages.until((ms) => ms.filter((m) => m.action === 'message_sent').length === 3, 20_000, 'three message_sent');
      const paced = ['o1', 'o2', 'o3'].map((id) => sentAt(scenario.messages.bodies(), id)!);
      expect(paced[2]! - paced[0]!).toBeGreaterThanOrEqual(1900);

      await update('u2', null);
      const back = await scenario.messages.untilAction('settings_updated', (m) => m.requestId === 'u2');
      expect(back.settings.pacing).toBeUndefined();
      for (const id of ['f1', 'f2', 'f3']) await send(id);
      await scenario.messages.until((ms) => ms.filter((m) => m.action === 'message_sent').length === 6, 20_000, 'six message_sent');
      const free = ['f1', 'f2', 'f3'].map((id) => sentAt(scenario.messages.bodies(), id)!);
      expect(free[2]! - free[0]!).toBeLessThan(900);
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  }, 60_000);
});

function connector(w: { connector: FakeConnector }) {
  return w.connector.latest()!;
}
