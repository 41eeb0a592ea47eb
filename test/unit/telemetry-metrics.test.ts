import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { OtelMetrics } from '../../src/telemetry/otel-metrics.js';
import { instrumentedStore } from '../../src/telemetry/instrumented-store.js';
import { MemorySessionStore } from '../fakes/memory-session-store.js';

/** The named instruments, read back through the SDK's in-memory exporter. */
describe('metrics', () => {
  const setup = () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = new OtelMetrics(provider.getMeter('test'));
    const read = async (name: string) => {
      await reader.forceFlush();
      const all = exporter
        .getMetrics()
        .at(-1)!
        .scopeMetrics.flatMap((s) => s.metrics);
      const found = all.find((m) => m.descriptor.name === name);
      return (found?.dataPoints ?? []) as Array<DataPoint<unknown>>;
    };
    return { metrics, read, provider };
  };

  it('session store operations and their failures, by operation and driver', async () => {
    const { metrics, read, provider } = setup();
    const inner = new MemorySessionStore();
    const store = instrumentedStore(inner, 'local', metrics);
    await store.listSessionIds();
    await store.listSessionIds();
    inner.listMeta = () => Promise.reject(new Error('disk gone'));
    await expect(store.listMeta()).rejects.toThrow('disk gone');
    const ops = await read('wa_worker.storage.operations');
    const byOp = Object.fromEntries(ops.map((p) => [p.attributes.op, p.value]));
    expect(byOp).toEqual({ listSessionIds: 2, listMeta: 1 });
    expect((await read('wa_worker.storage.errors')).map((p) => [p.attributes, p.value])).toEqual([[{ op: 'listMeta', driver: 'local' }, 1]]);
    await provider.shutdown();
  });

  it('gauges read the state they are given when collected; long labels are bounded', async () => {
    const { metrics, read, provider } = setup();
    let outbox = 3;
    metrics.observe({ sessionsByState: () => ({ connected: 2, awaiting_scan: 1 }), outboxDepth: () => outbox, pacingQueued: () => 0 });
    metrics.commandSettled('x'.repeat(500), 'dead_letter', 'shared');
    expect((await read('wa_worker.sessions')).map((p) => [p.attributes.state, p.value])).toEqual([
      ['connected', 2],
      ['awaiting_scan', 1],
    ]);
    expect((await read('wa_worker.outbox.depth'))[0]!.value).toBe(3);
    outbox = 0;
    expect((await read('wa_worker.outbox.depth'))[0]!.value).toBe(0);
    const [command] = await read('wa_worker.commands');
    expect(String(command!.attributes.action)).toHaveLength(64);
    expect(command!.attributes).toMatchObject({ outcome: 'dead_letter', queue: 'shared' });
    await provider.shutdown();
  });
});
