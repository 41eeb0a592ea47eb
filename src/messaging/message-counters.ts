/** What readers (heartbeats) see of the counts: they cannot change them. */
export interface MessageCounts {
  readonly sent: number;
  readonly received: number;
  /** Sent and received. */
  readonly total: number;
}

/**
 * WhatsApp messages sent and received since start, across every session of the worker. One
 * instance per worker: the worker creates it, sessions' messaging counts into it, the heartbeat
 * reads it through `MessageCounts`.
 */
export class MessageCounters implements MessageCounts {
  #sent = 0;
  #received = 0;

  /** A message WhatsApp accepted from us (counted once, not again on a redelivered command). */
  countSent(): void {
    this.#sent++;
  }

  /** A message received and handled (its event confirmed by the broker). */
  countReceived(): void {
    this.#received++;
  }

  get sent(): number {
    return this.#sent;
  }

  get received(): number {
    return this.#received;
  }

  get total(): number {
    return this.#sent + this.#received;
  }
}
