/**
 * The delivery receipts of one socket's incoming messages, held until the messages are safe.
 *
 * WhatsApp deletes a message once a device has receipted it, and keeps (and redelivers after a
 * reconnect) what it has not. Baileys, patched (scripts/patch-baileys.mjs), hands each receipt
 * here instead of sending it; the adapter gives each message the session sees an `acknowledge`
 * that sends it, and the session calls that once `message_received` is confirmed by the broker.
 * A message the session never sees (our own, protocol traffic, status broadcasts) is
 * acknowledged by the adapter at once.
 *
 * If the socket closes first, nothing is sent: WhatsApp delivers the message again on the next
 * connection, where it is published again (a duplicate, never a loss).
 */
export class ReceiptGate {
  /** By message id; a list because ids are chosen by senders and can repeat across chats. */
  private readonly held = new Map<string, Array<{ release: () => Promise<void>; since: number }>>();
  private closed = false;
  private count = 0;

  constructor(
    private readonly onReleaseError: (err: unknown, messageId: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Receipts held now. */
  get size(): number {
    return this.count;
  }

  /** Baileys' `holdIncomingReceipt`. */
  hold(messageId: string | null | undefined, release: () => Promise<void>): void {
    if (this.closed) return; // the socket is gone: WhatsApp redelivers
    if (!messageId) {
      this.send('(no id)', release);
      return;
    }
    const list = this.held.get(messageId) ?? [];
    list.push({ release, since: this.now() });
    this.held.set(messageId, list);
    this.count++;
  }

  /**
   * The receipt held for this message, as a one-shot function that sends it (undefined if none
   * is held: a message Baileys receipted itself, or one already taken).
   */
  take(messageId: string | null | undefined): (() => void) | undefined {
    if (!messageId) return undefined;
    const list = this.held.get(messageId);
    const first = list?.shift();
    if (!first) return undefined;
    if (list!.length === 0) this.held.delete(messageId);
    this.count--;
    let sent = false;
    return () => {
      if (sent || this.closed) return;
      sent = true;
      this.send(messageId, first.release);
    };
  }

  /**
   * Sends the receipts no message claimed for `maxAgeMs`: those of messages Baileys never
   * emitted (it drops some, e.g. failed decryptions it retries); holding them would only make
   * WhatsApp redeliver what nobody will publish. Returns how many were sent.
   */
  releaseUnclaimed(maxAgeMs: number): number {
    const cutoff = this.now() - maxAgeMs;
    let released = 0;
    for (const [id, list] of this.held) {
      while (list.length && list[0]!.since <= cutoff) {
        this.send(id, list.shift()!.release);
        this.count--;
        released++;
      }
      if (list.length === 0) this.held.delete(id);
    }
    return released;
  }

  /** The socket closed: nothing held is sent any more. */
  close(): void {
    this.closed = true;
    this.held.clear();
    this.count = 0;
  }

  private send(messageId: string, release: () => Promise<void>): void {
    // A socket closing under us rejects: WhatsApp redelivers then, which is what we want.
    release().catch((err: unknown) => this.onReleaseError(err, messageId));
  }
}
