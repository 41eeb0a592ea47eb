/**
 * What the session core needs to know about other workers when the backend reassigns a number:
 * whether the recorded owner is still running, and a way to ask it to hand the session over.
 * The worker implements it with the broker (a worker is running when its command queue has a
 * consumer); unit tests fake it.
 */
export interface OwnershipPort {
  isWorkerRunning(workerId: string): Promise<boolean>;
  requestHandover(
    owner: string,
    request: { numberId: number; sessionId: string; phoneNumber: string; handoverTo: string; requestId: string | undefined },
  ): Promise<void>;
}
