import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * The emulator's diagnostics, to a file of the run, with what the invariants need picked out:
 * the messages a contact could not decrypt (the emulator acks them to the sender like WhatsApp
 * would, but the contact never shows them; a real phone would ask for a retry, the emulated one
 * does not).
 */
export class EmulatorLog {
  private readonly out: WriteStream;
  /** message id → why the contact could not decrypt it */
  readonly undecryptable = new Map<string, string>();

  constructor(file: string) {
    this.out = createWriteStream(file, { flags: 'a' });
  }

  readonly log = (msg: string, extra?: unknown): void => {
    const detail = extra instanceof Error ? extra.message : extra === undefined ? '' : JSON.stringify(extra);
    this.out.write(`${new Date().toISOString()} ${msg} ${detail}\n`);
    const m = /^message (\S+): copy for (\S+) failed to decrypt/.exec(msg);
    if (m) this.undecryptable.set(m[1]!, `${m[2]}: ${detail}`);
  };

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}
