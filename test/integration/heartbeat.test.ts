import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { waitFor } from '../helpers/wait.js';
import { brokerScenario, startTestWorker } from '../helpers/worker-harness.js';
import { workerEventSchemas } from '../../src/events/catalogue.js';

describe('heartbeats on the bounded heartbeat queue', () => {
  it('worker_online at start, worker_heartbeat on each interval, worker_offline on a graceful stop', async () => {
    const scenario = await brokerScenario('hb');
    const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
    scenario.workerQueue('h1');
    const w = await startTestWorker({
      env: { ...scenario.env, QUEUE_WORKER_HEARTBEAT: heartbeatQueue, HEARTBEAT_INTERVAL_MS: '200', HEARTBEAT_QUEUE_MAX_LENGTH: '5' },
      workerId: 'h1',
    });
    try {
      const beats = await scenario.probe.collect(heartbeatQueue, { declare: false });
      await beats.until((bs) => bs.filter((b) => b.action === 'worker_heartbeat').length >= 2);
      await w.worker.stop(5000);
      const offline = await beats.untilAction('worker_offline');
      expect(offline).toMatchObject({ workerId: 'h1', status: 'offline', maxSessions: 50, sessionCount: 0 });
      expect(beats.bodies()[0]).toMatchObject({ action: 'worker_online', status: 'online' });
      for (const b of beats.bodies()) workerEventSchemas[b.action as keyof typeof workerEventSchemas].parse(b);
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  });

  it("messageCount counts the messages sent and received across the worker's sessions", async () => {
    const scenario = await brokerScenario('hbcount');
    const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
    scenario.workerQueue('h3');
    const connector = new FakeConnector();
    connector.onConnect = (s) => s.open('221771234567');
    const w = await startTestWorker({
      env: { ...scenario.env, QUEUE_WORKER_HEARTBEAT: heartbeatQueue, HEARTBEAT_INTERVAL_MS: '100' },
      workerId: 'h3',
      connector,
    });
    try {
      const beats = await scenario.probe.collect(heartbeatQueue, { declare: false });
      await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 6, phoneNumber: '+221771234567', workerId: 'h3' });
      await scenario.events.untilAction('connected');
      const received = {
        chat: '111111111111111@lid',
        isGroup: false,
        from: { lid: '111111111111111@lid', pn: '221770000001@s.whatsapp.net' },
        sentAt: Date.now(),
        type: 'text' as const,
      };
      connector.latest()!.receive([
        { ...received, id: 'IN-1', text: 'one' },
        { ...received, id: 'IN-2', text: 'two' },
      ]);
      await scenario.probe.publish(w.config.queues.commands, {
        action: 'send_message',
        numberId: 6,
        workerId: 'h3',
        requestId: 'r-1',
        data: { to: '+221770000001', type: 'text', text: 'Hello' },
      });
      await scenario.messages.until((ms) => ms.filter((m) => m.action === 'message_received').length === 2 && ms.some((m) => m.action === 'message_sent'));
      const beat = await beats.until(
        (bs) => bs.find((b) => b.action === 'worker_heartbeat' && b.messageCount === 3),
        10_000,
        'a heartbeat counting 3 messages',
      );
      expect(beat).toMatchObject({ sessionCount: 1, connectedCount: 1 });
      expect(beats.bodies().every((b) => b.messageCount <= 3)).toBe(true);
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  });

  it('the heartbeat queue drops the oldest messages beyond its bound', async () => {
    const scenario = await brokerScenario('hbbound');
    const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
    scenario.workerQueue('h2');
    scenario.probe.track(heartbeatQueue);
    const w = await startTestWorker({
      env: { ...scenario.env, QUEUE_WORKER_HEARTBEAT: heartbeatQueue, HEARTBEAT_INTERVAL_MS: '100', HEARTBEAT_QUEUE_MAX_LENGTH: '3' },
      workerId: 'h2',
    });
    try {
      const published = () => w.worker.publisher.published;
      const start = published();
      await waitFor(() => published() >= start + 6, 'six more heartbeats published', { timeoutMs: 10_000, intervalMs: 50 });
      // worker_offline is the last one published: after it, the queue is still.
      await w.worker.stop(5000);
      expect(await scenario.probe.messageCount(heartbeatQueue)).toBe(3);
      const kept = [];
      for (let m = await scenario.probe.get(heartbeatQueue); m; m = await scenario.probe.get(heartbeatQueue)) kept.push(m.body);
      // The newest three: the first ones (worker_online among them) were dropped, not the last.
      expect(kept.map((b) => b.action)).toEqual(['worker_heartbeat', 'worker_heartbeat', 'worker_offline']);
      expect(kept.map((b) => b.timestamp)).toEqual([...kept.map((b) => b.timestamp)].sort((x, y) => x - y));
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  });
});
