import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The dependency rule, proven for the session core: nothing that src/sessions reaches, through
 * any chain of imports (type-only ones included), loads Baileys, amqplib, minio or OpenTelemetry. Those are
 * the drivers' business (whatsapp/baileys-connector.ts, broker/, storage/); the session core
 * sees them only through interfaces.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const FORBIDDEN = ['@whiskeysockets/baileys', 'amqplib', 'minio', '@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-metrics'];

/** Every module specifier a file mentions: imports, `import type`, re-exports, `import()` (also in types). */
function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function resolveRelative(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((c) => existsSync(c) && c.endsWith('.ts'));
  if (!found) throw new Error(`${relative(ROOT, from)} imports ${spec}, which resolves to no .ts file`);
  return found;
}

/** The forbidden packages reached from `entries`, each with the chain of modules that leads to it. */
function forbiddenReached(entries: string[]): string[] {
  const via = new Map<string, string[]>(entries.map((e) => [e, [relative(ROOT, e)]]));
  const queue = [...entries];
  const found: string[] = [];
  while (queue.length) {
    const file = queue.shift()!;
    const chain = via.get(file)!;
    for (const spec of specifiers(file)) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (!via.has(target)) {
          via.set(target, [...chain, relative(ROOT, target)]);
          queue.push(target);
        }
      } else if (FORBIDDEN.some((pkg) => spec === pkg || spec.startsWith(`${pkg}/`))) {
        found.push(`${[...chain, spec].join(' → ')}`);
      }
    }
  }
  return found;
}

const sessionModules = readdirSync(join(ROOT, 'src/sessions'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(ROOT, 'src/sessions', f));

describe('the dependency rule for src/sessions', () => {
  it('reaches neither Baileys, amqplib nor minio through any import, type-only ones included', () => {
    expect(sessionModules.length).toBeGreaterThanOrEqual(8);
    expect(forbiddenReached(sessionModules)).toEqual([]);
  });

  it('the check sees a driver where there is one (direct, type-only, and several imports away)', () => {
    const at = (path: string) => [join(ROOT, path)];
    expect(forbiddenReached(at('src/whatsapp/baileys-connector.ts')).some((c) => c.endsWith('→ @whiskeysockets/baileys'))).toBe(true);
    // `import type { Channel } from 'amqplib'`: type-only, and still a dependency.
    expect(forbiddenReached(at('src/broker/topology.ts'))).toEqual(['src/broker/topology.ts → amqplib']);
    // Two hops: s3-media-store.ts → minio-client.ts → minio (and its own type import).
    expect(forbiddenReached(at('src/storage/s3-media-store.ts'))).toEqual(
      expect.arrayContaining(['src/storage/s3-media-store.ts → src/storage/minio-client.ts → minio', 'src/storage/s3-media-store.ts → minio']),
    );
  });

  it('reads every form of import', () => {
    const source =
      "import type { A } from 'a';\nexport { b } from './b.js';\nexport * from 'c';\ntype D = import('d').D;\nconst e = await import('e');\nimport 'f';\n";
    expect(ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)).toEqual(['a', './b.js', 'c', 'd', 'e', 'f']);
  });
});
