import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

/**
 * An OTLP/HTTP receiver for tests: accepts what an exporter POSTs to /v1/traces and /v1/metrics
 * (protobuf, the OTLP default), decodes it with the subset of the OTLP .proto below, and lets a
 * test await spans and metric points. Unknown fields are skipped by the decoder.
 */
const OTLP_SUBSET = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message Scope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Link links = 13; Status status = 15;
}
message Link { bytes trace_id = 1; bytes span_id = 2; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ScopeMetrics { Scope scope = 1; repeated Metric metrics = 2; }
message Metric { string name = 1; string description = 2; string unit = 3; Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message NumberDataPoint { fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; double as_double = 4; sfixed64 as_int = 6; repeated KeyValue attributes = 7; }
message HistogramDataPoint { fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5; repeated KeyValue attributes = 9; }
`;

const root = protobuf.parse(OTLP_SUBSET, { keepCase: false }).root;
const TraceRequest = root.lookupType('ExportTraceServiceRequest');
const MetricsRequest = root.lookupType('ExportMetricsServiceRequest');

type Attributes = Record<string, string | number | boolean>;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Attributes;
  resource: Attributes;
  statusCode: number;
  startNs: bigint;
  endNs: bigint;
}

export interface ReceivedPoint {
  metric: string;
  attributes: Attributes;
  resource: Attributes;
  /** The value of a sum or gauge point; a histogram point's count. */
  value: number;
  /** Histogram points: the sum of what was recorded. */
  sum?: number;
  /** Export order: a later point of a cumulative metric supersedes an earlier one. */
  seq: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the decoder's plain objects */
const hex = (b: Uint8Array | undefined) => (b && b.length ? Buffer.from(b).toString('hex') : '');
function attributes(kvs: any[] | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue;
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly points: ReceivedPoint[] = [];
  /** Requests that could not be decoded (they must stay 0: the exporter speaks OTLP). */
  undecodable = 0;
  private seq = 0;
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        try {
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          if (req.url === '/v1/traces') receiver.addSpans(TraceRequest.toObject(TraceRequest.decode(body), { longs: String }));
          else if (req.url === '/v1/metrics') receiver.addMetrics(MetricsRequest.toObject(MetricsRequest.decode(body), { longs: String }));
          else receiver.undecodable++;
        } catch {
          receiver.undecodable++;
        }
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    // Requests arrive only after listen(): `receiver` is set by then.
    const receiver = new OtlpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private addSpans(req: any): void {
    for (const rs of req.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? [])
          this.spans.push({
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parentSpanId: hex(s.parentSpanId),
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributes(s.attributes),
            resource,
            statusCode: s.status?.code ?? 0,
            startNs: BigInt(s.startTimeUnixNano ?? 0),
            endNs: BigInt(s.endTimeUnixNano ?? 0),
          });
    }
    this.wake();
  }

  private addMetrics(req: any): void {
    for (const rm of req.resourceMetrics ?? []) {
      const resource = attributes(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? []) {
          const seq = this.seq++;
          for (const p of m.sum?.dataPoints ?? m.gauge?.dataPoints ?? [])
            this.points.push({ metric: m.name, attributes: attributes(p.attributes), resource, value: p.asDouble ?? Number(p.asInt ?? 0), seq });
          for (const p of m.histogram?.dataPoints ?? [])
            this.points.push({ metric: m.name, attributes: attributes(p.attributes), resource, value: Number(p.count ?? 0), sum: p.sum, seq });
        }
    }
    this.wake();
  }

  /** The latest value of `metric` whose attributes include `match`, or undefined. */
  latest(metric: string, match: Attributes = {}): ReceivedPoint | undefined {
    const found = this.points.filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v));
    return found.sort((a, b) => b.seq - a.seq)[0];
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with `find`'s first truthy answer, re-asked after each export received. */
  async until<T>(find: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`OTLP receiver: timed out waiting for ${what}; spans: ${this.spans.map((s) => s.name).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The spans of one trace as an indented tree (children in start order), for reading and for the README. */
export function spanTree(spans: ReceivedSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  const ids = new Set(inTrace.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const s of inTrace.filter((x) => x.parentSpanId === parent || (depth === 0 && !ids.has(x.parentSpanId) && parent === ''))) {
      const attrs = ['wa.action', 'wa.outcome', 'wa.message_id', 'wa.status', 'messaging.destination.name']
        .filter((k) => s.attributes[k] !== undefined)
        .map((k) => `${k}=${s.attributes[k]}`);
      const ms = (Number(s.endNs - s.startNs) / 1e6).toFixed(1);
      lines.push(
        `${'  '.repeat(depth)}${s.name} [${['', 'internal', 'server', 'client', 'producer', 'consumer'][s.kind]}, ${ms} ms] ${attrs.join(' ')}`.trimEnd(),
      );
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}
