import { Client } from 'minio';
import { describeError, WorkerError } from '../util/errors.js';

export interface MinioConnection {
  endPoint: string;
  port?: number | undefined;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  region?: string | undefined;
  pathStyle?: boolean | undefined;
}

/** The one place a MinIO/S3 client is built (session store and media store alike). */
export function createMinioClient(opts: MinioConnection): Client {
  try {
    return new Client({
      endPoint: opts.endPoint,
      ...(opts.port ? { port: opts.port } : {}),
      useSSL: opts.useSSL,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      region: opts.region || 'us-east-1',
      pathStyle: opts.pathStyle ?? true,
    });
  } catch (err) {
    throw new WorkerError('INVALID_CONFIG', `invalid MinIO settings: ${describeError(err)}`, { cause: err });
  }
}
