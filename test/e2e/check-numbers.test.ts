import { brokerScenario, startTestWorker, type TestWorker } from '../helpers/worker-harness.js';
import { baileysConnector, trustedEmulator } from '../helpers/e2e.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';
import type { Emulator } from '../emulator/index.js';
import type { WhatsAppConnector } from '../../src/whatsapp/types.js';

/**
 * `check_numbers` end to end: the real worker (real broker, real Baileys) asks the emulator, in
 * one usync query, which phones are on WhatsApp; the emulator knows its contacts and accounts.
 */
const ACCOUNT = '+221771230002';
const ALICE = '15550000201';
const UNKNOWN = '15559990202';

describe('check_numbers over the queues, on the emulator', () => {
  let emulator: Emulator;
  let scenario: Awaited<ReturnType<typeof brokerScenario>>;
  const workers: Array<TestWorker<WhatsAppConnector>> = [];

  const start = async (env: Record<string, string> = {}) => {
    scenario.workerQueue('c1');
    const w = await startTestWorker({
      env: { ...scenario.env, SEND_WAIT_FOR_OPEN_MS: '1500', ...env },
      workerId: 'c1',
      connector: baileysConnector(emulator),
      store: new MemorySessionStore(),
    });
    workers.push(w);
    return w;
  };

  const check = (w: TestWorker<WhatsAppConnector>, requestId: string, phones: unknown) =>
    scenario.probe.publish(w.config.queues.commands, { action: 'check_numbers', numberId: 22, workerId: 'c1', requestId, data: { phones } });

  const link = async (w: TestWorker<WhatsAppConnector>) => {
    await scenario.probe.publish(w.config.queues.commands, { action: 'create', numberId: 22, workerId: 'c1', data: { phoneNumber: ACCOUNT } });
    const qr = await scenario.events.untilAction('qr_generated');
    await emulator.scanQr(qr.qrString, { phoneNumber: ACCOUNT });
    await scenario.events.untilAction('connected', undefined, 30_000);
  };

  beforeEach(async () => {
    emulator = await trustedEmulator();
    // Each test its own queue names (and its own emulator).
    scenario = await brokerScenario('chk');
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.worker.stop(5000)));
    await scenario.probe.close();
    await emulator.close();
  });

  it('a contact is reported on WhatsApp with its JID and LID, an unknown phone is not; in the order asked, each phone once; a redelivery answers again', async () => {
    const alice = emulator.addContact(ALICE);
    const w = await start();
    await link(w);

    await check(w, 'chk-1', [`+${ALICE}`, UNKNOWN, `00${ALICE}`, ACCOUNT]);
    const answer = await scenario.messages.untilAction('numbers_checked', (e) => e.requestId === 'chk-1', 20_000);
    expect(answer).toMatchObject({ numberId: 22, sessionId: `session_22_${ACCOUNT}`, workerId: 'c1', requestId: 'chk-1' });
    expect(answer.results).toEqual([
      { phone: `+${ALICE}`, onWhatsApp: true, jid: `${ALICE}@s.whatsapp.net`, lid: alice.lid },
      { phone: `+${UNKNOWN}`, onWhatsApp: false },
      { phone: ACCOUNT, onWhatsApp: true, jid: `${ACCOUNT.slice(1)}@s.whatsapp.net`, lid: expect.stringMatching(/^[0-9]+@lid$/) },
    ]);
    expect(alice.jid).toBe(`${ALICE}@s.whatsapp.net`);

    // The backend redelivers the same command: it is simply answered again.
    await check(w, 'chk-1', [`+${ALICE}`, UNKNOWN, `00${ALICE}`, ACCOUNT]);
    const both = await scenario.messages.until((bs) => {
      const answers = bs.filter((b) => b.action === 'numbers_checked' && b.requestId === 'chk-1');
      return answers.length === 2 && answers;
    }, 20_000);
    expect(both[1].results).toEqual(answer.results);
    expect(both[1].eventId).not.toBe(answer.eventId);
    expect(scenario.messages.bodies().filter((b) => b.action === 'numbers_check_failed')).toEqual([]);
  });

  it('a batch above CHECK_NUMBERS_MAX_BATCH, or with a phone that is not one, is dead-lettered with its code (and command_rejected)', async () => {
    const w = await start({ CHECK_NUMBERS_MAX_BATCH: '2' });
    const dlq = await scenario.probe.collect(w.config.queues.deadLetter, { declare: false });
    await check(w, 'big-1', [`+${ALICE}`, `+${UNKNOWN}`, ACCOUNT]);
    await check(w, 'bad-2', [`+${ALICE}`, 'call me']);
    await dlq.until((bs) => bs.length === 2, 20_000, 'two dead letters');
    const headers = dlq.messages.map((m) => m.raw.properties.headers as Record<string, string>);
    expect(headers.map((h) => [h['x-error-code'], h['x-error-reason']]).sort()).toEqual([
      ['BATCH_TOO_LARGE', expect.stringMatching(/3 entries, more than CHECK_NUMBERS_MAX_BATCH \(2\)/)],
      ['INVALID_PHONE', expect.stringMatching(/^phones\[1\]: /)],
    ]);
    const rejected = await scenario.events.until((bs) => {
      const r = bs.filter((b) => b.action === 'command_rejected');
      return r.length === 2 && r;
    });
    expect(rejected.map((r: { requestId: string; command: string; code: string }) => [r.requestId, r.command, r.code]).sort()).toEqual([
      ['bad-2', 'check_numbers', 'INVALID_PHONE'],
      ['big-1', 'check_numbers', 'BATCH_TOO_LARGE'],
    ]);
    expect(scenario.messages.bodies().filter((b) => b.action === 'numbers_checked')).toEqual([]);
  });

  it('a session that is not connected is answered with numbers_check_failed (NOT_CONNECTED), not retried', async () => {
    const w = await start();
    await link(w);
    await scenario.probe.publish(w.config.queues.commands, { action: 'disconnect', numberId: 22, workerId: 'c1', data: { phoneNumber: ACCOUNT } });
    await scenario.events.untilAction('disconnected', undefined, 20_000);
    await check(w, 'chk-off', [`+${ALICE}`]);
    const failed = await scenario.messages.untilAction('numbers_check_failed', (e) => e.requestId === 'chk-off', 20_000);
    expect(failed).toMatchObject({ numberId: 22, requestId: 'chk-off', code: 'NOT_CONNECTED', phones: [`+${ALICE}`] });
  });
});
