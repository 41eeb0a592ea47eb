import { brokerScenario, startTestWorker } from '../helpers/worker-harness.js';
import { workerEventSchemas } from '../../src/events/catalogue.js';

describe('heartbeats on the bounded heartbeat queue', () => {
  it('worker_online at start, worker_heartbeat on each interval, worker_offline on a graceful stop', async () => {
    const scenario = await brokerScenario('hb');
    const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
    scenario.workerQueue('h1');
    const w = await startTestWorker({ env: { ...scenario.env, QUEUE_WORKER_HEARTBEAT: heartbeatQueue, HEARTBEAT_INTERVAL_MS: '200', HEARTBEAT_QUEUE_MAX_LENGTH: '5' }, workerId: 'h1' });
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

  it('the heartbeat queue drops the oldest messages beyond its bound', async () => {
    const scenario = await brokerScenario('hbbound');
    const heartbeatQueue = `${scenario.env.QUEUE_SESSION_COMMANDS}.hb`;
    scenario.workerQueue('h2');
    scenario.probe.track(heartbeatQueue);
    const w = await startTestWorker({ env: { ...scenario.env, QUEUE_WORKER_HEARTBEAT: heartbeatQueue, HEARTBEAT_INTERVAL_MS: '100', HEARTBEAT_QUEUE_MAX_LENGTH: '3' }, workerId: 'h2' });
    try {
      const published = () => w.worker.publisher.published;
      const start = published();
      while (published() < start + 6) await new Promise((r) => setTimeout(r, 50));
      expect(await scenario.probe.messageCount(heartbeatQueue)).toBe(3);
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  });
});
