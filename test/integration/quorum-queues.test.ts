import { FakeConnector } from '../fakes/fake-whatsapp.js';
import { brokerScenario, startTestWorker } from '../helpers/worker-harness.js';
import { WorkerError } from '../../src/util/errors.js';

describe('quorum queues (RABBITMQ_QUEUE_TYPE=quorum)', () => {
  it('declares the topology as quorum queues, works end to end, and lets the broker dead-letter a command past its delivery limit', async () => {
    const scenario = await brokerScenario('quorum', { queueType: 'quorum' });
    const workerQueue = scenario.workerQueue('q1');
    const connector = new FakeConnector();
    connector.onConnect = (s) => s.qr('2@quorum');
    // The broker's delivery limit (2) comes before the worker's own attempt limit (10).
    const w = await startTestWorker({
      env: { ...scenario.env, RABBITMQ_QUEUE_TYPE: 'quorum', RABBITMQ_DELIVERY_LIMIT: '2', COMMAND_MAX_ATTEMPTS: '10' },
      workerId: 'q1',
      connector,
    });
    try {
      await scenario.probe.publish(scenario.env.QUEUE_SESSION_COMMANDS!, { action: 'create', numberId: 1, phoneNumber: '+221770000001', workerId: 'q1' });
      await scenario.events.untilAction('qr_generated');

      // Storage is down for this number: every attempt fails for an infrastructure reason.
      const execute = w.worker.sessions.execute.bind(w.worker.sessions);
      let attempts = 0;
      w.worker.sessions.execute = (command) => {
        if (command.numberId !== 2) return execute(command);
        attempts++;
        return Promise.reject(new WorkerError('STORAGE_UNAVAILABLE', 'injected outage'));
      };
      const dlq = await scenario.probe.collect(scenario.env.QUEUE_DEAD_LETTER!, { declare: false });
      await scenario.probe.publish(workerQueue, { action: 'create', numberId: 2, phoneNumber: '+221770000002', workerId: 'q1' });
      const dead = await dlq.until((bs) => bs.find((b) => b.numberId === 2), 30_000);
      expect(dead).toMatchObject({ action: 'create', numberId: 2 });
      // Dead-lettered by the broker (delivery limit), not by the worker giving up.
      const headers = dlq.messages[0]!.raw.properties.headers!;
      expect(headers['x-first-death-reason']).toBe('delivery_limit');
      expect(attempts).toBeGreaterThanOrEqual(2);
      expect(attempts).toBeLessThan(10);
    } finally {
      await w.worker.stop(5000);
      await scenario.probe.close();
    }
  });
});
