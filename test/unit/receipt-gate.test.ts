import { ReceiptGate } from '../../src/whatsapp/receipt-gate.js';

/** A gate whose receipts record themselves in `sent`, on a clock the test moves. */
function gate() {
  const sent: string[] = [];
  const errors: string[] = [];
  let now = 1_000;
  const g = new ReceiptGate(
    (_err, id) => errors.push(id),
    () => now,
  );
  const receipt =
    (label: string, fail = false) =>
    async () => {
      if (fail) throw new Error('Connection Closed');
      sent.push(label);
    };
  return { g, sent, errors, receipt, advance: (ms: number) => (now += ms) };
}

const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReceiptGate', () => {
  it('holds a receipt until its message is acknowledged, and sends it once', async () => {
    const { g, sent, receipt } = gate();
    g.hold('A', receipt('A'));
    expect(g.size).toBe(1);
    const ack = g.take('A')!;
    expect(g.size).toBe(0);
    await settled();
    expect(sent).toEqual([]);
    ack();
    ack();
    await settled();
    expect(sent).toEqual(['A']);
    expect(g.take('A')).toBeUndefined();
  });

  it('keeps receipts of the same id (two chats) apart, first held first taken', async () => {
    const { g, sent, receipt } = gate();
    g.hold('X', receipt('X in chat 1'));
    g.hold('X', receipt('X in chat 2'));
    g.take('X')!();
    await settled();
    expect(sent).toEqual(['X in chat 1']);
    expect(g.size).toBe(1);
  });

  it('after the socket closed nothing is sent: neither held receipts nor new ones (WhatsApp redelivers)', async () => {
    const { g, sent, receipt } = gate();
    g.hold('A', receipt('A'));
    const ack = g.take('A')!;
    g.hold('B', receipt('B'));
    g.close();
    ack();
    g.hold('C', receipt('C'));
    expect(g.take('B')).toBeUndefined();
    expect(g.releaseUnclaimed(0)).toBe(0);
    await settled();
    expect(sent).toEqual([]);
    expect(g.size).toBe(0);
  });

  it('sends receipts nobody claimed for maxAgeMs, and only those', async () => {
    const { g, sent, receipt, advance } = gate();
    g.hold('old', receipt('old'));
    advance(500);
    g.hold('new', receipt('new'));
    advance(600);
    expect(g.releaseUnclaimed(1_000)).toBe(1);
    await settled();
    expect(sent).toEqual(['old']);
    expect(g.size).toBe(1);
    expect(g.take('new')).toBeDefined();
  });

  it('a receipt without a message id is sent at once; a failed send is reported, not thrown', async () => {
    const { g, sent, errors, receipt } = gate();
    g.hold(undefined, receipt('no id'));
    g.hold('F', receipt('F', true));
    g.take('F')!();
    await settled();
    expect(sent).toEqual(['no id']);
    expect(errors).toEqual(['F']);
  });
});
