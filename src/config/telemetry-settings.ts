import type { Env } from './schema.js';
import type { TelemetrySettings } from './config-types.js';

/**
 * `key=value,key=value` as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES spell it
 * (values URL-encoded). A pair without `=` or with an empty key is skipped, as the SDK does.
 */
export function parseKeyValueList(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    let value = pair.slice(at + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as written
    }
    if (key) out[key] = value;
  }
  return out;
}

/** A signal's URL: its own variable as is, else `<base>/v1/<signal>`. */
function signalUrl(base: string | undefined, own: string | undefined, signal: 'traces' | 'metrics'): string | undefined {
  if (own) return own;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/** OTLP export settings, or undefined (telemetry off) when no endpoint is configured. */
export function telemetrySettings(e: Env): TelemetrySettings | undefined {
  const tracesEndpoint = signalUrl(e.OTEL_EXPORTER_OTLP_ENDPOINT, e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'traces');
  const metricsEndpoint = signalUrl(e.OTEL_EXPORTER_OTLP_ENDPOINT, e.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'metrics');
  if (e.OTEL_SDK_DISABLED || (!tracesEndpoint && !metricsEndpoint)) return undefined;
  return {
    tracesEndpoint,
    metricsEndpoint,
    headers: parseKeyValueList(e.OTEL_EXPORTER_OTLP_HEADERS),
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: parseKeyValueList(e.OTEL_RESOURCE_ATTRIBUTES),
    metricExportIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
  };
}
