/**
 * Small JSON control API on loopback, so a test in another process (e.g. the
 * daemon's e2e suite) can drive the emulator:
 *   GET  /state                                   -> EmulatorState (per account also unacked, redelivered,
 *                                                    maxConcurrentConnections, loginConflicts, duplicateSends)
 *   GET  /qr?timeoutMs=                           -> { qr } next QR prefix (see Emulator.waitForQr)
 *   POST /scan      { qr, phoneNumber }           -> { jid, lid }
 *   POST /pairing   { phoneNumber, code }         -> { jid, lid }
 *   POST /fault     { kind, phoneNumber? }        -> { ok }
 *   POST /delay     { ms }                        -> { ok }
 *   POST /forget                                  -> { ok }
 *   POST /contacts  { phoneNumber }               -> { jid, lid }
 *   GET  /contacts/:phone/messages                -> ReceivedMessage[]
 *   GET  /contacts/:phone/next?timeoutMs=         -> ReceivedMessage (waits)
 *   POST /send      { from, to, text | message }  -> { id, delivery }
 *   POST /history   { phoneNumber, history }      -> { ok }  the history its phone sends on the next link (PhoneHistory)
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Emulator, FaultKind } from './types.js';
import type { PhoneHistory } from './phone-history.js';

const FAULTS: FaultKind[] = ['drop', 'restart515', 'logout401', 'conflict440', 'forbidden403', 'unavailable503'];

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('body must be a JSON object');
  return parsed as Record<string, unknown>;
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`"${name}" (string) is required`);
  return v;
};

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(json);
}

async function route(emu: Emulator, req: IncomingMessage, url: URL): Promise<unknown> {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? '30000');
  if (req.method === 'GET' && path === '/state') return emu.state();
  if (req.method === 'GET' && path === '/qr') return { qr: await emu.waitForQr({ timeoutMs }) };
  const contactMatch = /^\/contacts\/([^/]+)\/(messages|next)$/.exec(path);
  if (req.method === 'GET' && contactMatch) {
    const phone = decodeURIComponent(contactMatch[1] ?? '');
    return contactMatch[2] === 'messages' ? emu.receivedBy(phone) : emu.waitForMessage(phone, { timeoutMs });
  }
  if (req.method !== 'POST') throw Object.assign(new Error('not found'), { status: 404 });
  const body = await readJson(req);
  switch (path) {
    case '/scan':
      return emu.scanQr(str(body.qr, 'qr'), { phoneNumber: str(body.phoneNumber, 'phoneNumber') });
    case '/pairing':
      return emu.confirmPairingCode(str(body.phoneNumber, 'phoneNumber'), str(body.code, 'code'));
    case '/fault': {
      const kind = str(body.kind, 'kind') as FaultKind;
      if (!FAULTS.includes(kind)) throw new Error(`kind must be one of ${FAULTS.join(', ')}`);
      await emu.fault(kind, typeof body.phoneNumber === 'string' ? body.phoneNumber : undefined);
      return { ok: true };
    }
    case '/delay':
      emu.setResponseDelay(Number(body.ms ?? 0));
      return { ok: true };
    case '/forget':
      emu.forgetAccounts();
      return { ok: true };
    case '/contacts':
      return emu.addContact(str(body.phoneNumber, 'phoneNumber'));
    case '/send': {
      const message = typeof body.text === 'string' ? body.text : (body.message as Parameters<Emulator['sendMessage']>[2]);
      if (!message) throw new Error('"text" or "message" is required');
      return emu.sendMessage(str(body.from, 'from'), str(body.to, 'to'), message);
    }
    case '/history': {
      const history = body.history as PhoneHistory | undefined;
      if (!history || !Array.isArray(history.conversations)) throw new Error('"history" ({ conversations: [...] }) is required');
      emu.setPhoneHistory(str(body.phoneNumber, 'phoneNumber'), history);
      return { ok: true };
    }
    default:
      throw Object.assign(new Error('not found'), { status: 404 });
  }
}

/** Serves the control API for `emu`; resolves once listening. */
export async function startControlServer(
  emu: Emulator,
  opts: { host?: string; port?: number } = {},
): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    route(emu, req, url).then(
      (body) => send(res, 200, body ?? {}),
      (err: unknown) => {
        const status = (err as { status?: number }).status ?? 400;
        send(res, status, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
