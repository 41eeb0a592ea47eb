/**
 * The emulator's media host (WhatsApp's mmg.whatsapp.net): HTTPS only, because Baileys uploads
 * to `https://<host from media_conn>/mms/<type>/<token>?auth=…` with no way to choose http. The
 * certificate is self-signed, made at start; clients trust it through `ca` (an https.Agent, or
 * NODE_EXTRA_CA_CERTS for a child process).
 *   POST /mms/<type>/<fileEncSha256 b64url>?auth=<auth>  → {url, direct_path} (auth checked)
 *   GET  <direct_path>                                   → the stored bytes (404 when unknown)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { generate } from 'selfsigned';

const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

export class MediaHost {
  /** `127.0.0.1:PORT`, as media_conn announces it */
  hostname = '';
  /** PEM of the self-signed certificate (its own CA) */
  ca = '';
  /** the token media_conn hands out; uploads must carry it */
  readonly auth = randomBytes(18).toString('base64url');
  private readonly files = new Map<string, Buffer>();
  private server: Server | undefined;
  uploads = 0;
  downloads = 0;
  /** The remote address of every TLS connection accepted, in order (who reached the host: a proxy, or a client directly). */
  readonly clientAddresses: string[] = [];

  constructor(
    private readonly bindHost: string,
    private readonly log: (msg: string, extra?: unknown) => void,
  ) {}

  async start(): Promise<void> {
    const pems = await generate([{ name: 'commonName', value: 'wa-emulator media' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 7 * 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: this.bindHost },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    this.ca = pems.cert;
    const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => void this.handle(req, res));
    this.server = server;
    server.on('secureConnection', (socket) => this.clientAddresses.push(socket.remoteAddress ?? ''));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.bindHost, () => resolve());
    });
    const addr = server.address();
    this.hostname = `${this.bindHost}:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  /** Stores an (encrypted) file as the phone's upload would; returns where it can be fetched. */
  put(file: Buffer, type: string): { directPath: string; url: string } {
    const directPath = `/v/t62.emu-${type}/${createHash('sha256').update(file).digest('base64url')}-${randomBytes(4).toString('hex')}.enc`;
    this.files.set(directPath, file);
    return { directPath, url: `https://${this.hostname}${directPath}` };
  }

  /** The stored bytes at `directPath` (what a download would return). */
  get(directPath: string): Buffer | undefined {
    return this.files.get(directPath.split('?')[0] ?? directPath);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `https://${this.hostname}`);
    try {
      if (req.method === 'POST' && url.pathname.startsWith('/mms/')) {
        if (url.searchParams.get('auth') !== this.auth) return reply(res, 401, { error: 'bad auth' });
        const body = await readBody(req, MAX_UPLOAD_BYTES);
        if (!body) return reply(res, 413, { error: 'too large' });
        const type = url.pathname.split('/')[2] ?? 'file';
        const { directPath, url: fileUrl } = this.put(body, type);
        this.uploads++;
        return reply(res, 200, { url: fileUrl, direct_path: directPath });
      }
      if (req.method === 'GET') {
        const file = this.files.get(url.pathname);
        if (!file) return reply(res, 404, { error: 'not found' });
        this.downloads++;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.length });
        res.end(file);
        return;
      }
      reply(res, 405, { error: 'method not allowed' });
    } catch (err) {
      this.log('media host request failed', err);
      reply(res, 500, { error: 'internal' });
    }
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
