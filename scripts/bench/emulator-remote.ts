/**
 * The bench's handle on the emulator running in its own process (emulator-child.ts): the URL and
 * root key the clients need, and the control calls the scenarios make (scan a QR, forget accounts,
 * contacts, register a linked device without a QR), over the child's IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RegisterArgs } from './emulator-child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Answer {
  id: number;
  ok: boolean;
  value?: any;
  error?: string;
}

export class RemoteEmulator {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly rootPublicKeyHex: string,
  ) {
    child.on('message', (m: Answer) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    child.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`emulator process exited (${code})`));
      this.pending.clear();
    });
  }

  static async start(opts: { skipPrekeyUpload: boolean }): Promise<RemoteEmulator> {
    const child = fork(fileURLToPath(new URL('./emulator-child.ts', import.meta.url)), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, NODE_OPTIONS: '', BENCH_EMULATOR_SKIP_PREKEY_UPLOAD: opts.skipPrekeyUpload ? '1' : '0' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const info = await new Promise<{ url: string; rootPublicKeyHex: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('emulator process did not start within 60 s')), 60_000);
      child.once('message', (m: Answer) => {
        clearTimeout(timer);
        if (m.ok) resolve(m.value);
        else reject(new Error(m.error));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`emulator process exited (${code}) before it started`));
      });
    });
    return new RemoteEmulator(child, info.url, info.rootPublicKeyHex);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, args }, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  scanQr(qr: string, opts: { phoneNumber: string }): Promise<{ jid: string; lid: string }> {
    return this.call('scanQr', qr, opts.phoneNumber);
  }

  forgetAccounts(): Promise<void> {
    return this.call('forgetAccounts');
  }

  addContact(phoneNumber: string): Promise<{ jid: string; lid: string }> {
    return this.call('addContact', phoneNumber);
  }

  hasContact(phoneNumber: string): Promise<boolean> {
    return this.call('hasContact', phoneNumber);
  }

  createGroup(subject: string, phones: string[]): Promise<{ jid: string }> {
    return this.call('createGroup', subject, phones);
  }

  groupMetadataQueries(jid: string): Promise<number> {
    return this.call('groupMetadataQueries', jid);
  }

  /** usync device queries the emulator answered so far (all clients), and the users they listed. */
  deviceQueries(): Promise<{ queries: number; users: number }> {
    return this.call('deviceQueries');
  }

  /** When the emulator took each of these sends to the group (ms since the epoch; null: not taken). */
  groupSendTimes(jid: string, ids: string[]): Promise<Array<number | null>> {
    return this.call('groupSendTimes', jid, ids);
  }

  groupReceivedCount(phone: string, jid: string): Promise<number> {
    return this.call('groupReceivedCount', phone, jid);
  }

  /** Resolves once the member has received `count` messages of the group (the emulator's fan-out caught up). */
  untilGroupReceived(phone: string, jid: string, count: number, timeoutMs: number): Promise<true> {
    return this.call('untilGroupReceived', phone, jid, count, timeoutMs);
  }

  connectionCount(): Promise<number> {
    return this.call('connectionCount');
  }

  memory(): Promise<NodeJS.MemoryUsage> {
    return this.call('memory');
  }

  /** CPU time (user + system) the emulator process used so far. */
  cpuSeconds(): Promise<number> {
    return this.call('cpuSeconds');
  }

  /** An emulated contact (made on first use) sends a text to an account. */
  contactSends(contactPhone: string, accountPhone: string, text: string): Promise<void> {
    return this.call('contactSends', contactPhone, accountPhone, text);
  }

  registerBulk(
    items: Array<{ phone: string; noiseKey: Uint8Array }>,
    shared: Omit<RegisterArgs, 'phone' | 'noiseKey' | 'advSecret'>,
  ): Promise<Array<{ phone: string; lid: string; deviceId: number; accountKey: Uint8Array }>> {
    return this.call('registerBulk', items, shared);
  }

  register(args: RegisterArgs): Promise<{ stanza: any }> {
    return this.call('register', args);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
