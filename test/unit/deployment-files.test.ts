import { existsSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema } from '../../src/config/schema.js';

/**
 * docker-compose.yml, the Dockerfile and the Kubernetes manifests run the same worker the tests
 * run: every variable they set must be one the config schema reads (or its *_FILE form), and the
 * health checks must run the healthcheck command that exists.
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const known = new Set(Object.keys(envSchema.shape));
const isKnown = (name: string) => known.has(name) || (name.endsWith('_FILE') && known.has(name.slice(0, -5)));

describe('deployment files', () => {
  it('docker-compose: RabbitMQ with the UI, MinIO with its console, two workers with different ids, only known variables', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true });
    expect(compose.services.rabbitmq.image).toMatch(/management/);
    expect(compose.services.minio.command).toMatch(/--console-address/);
    const workers = Object.entries<any>(compose.services).filter(([name]) => name.startsWith('worker'));
    expect(workers.map(([, w]) => w.environment.WORKER_ID)).toEqual(['worker-1', 'worker-2']);
    for (const [, w] of workers) {
      for (const name of Object.keys(w.environment)) expect([name, isKnown(name)]).toEqual([name, true]);
      expect(w.environment.NODE_ENV).toBe('production');
      expect(w.environment.SESSION_ENCRYPTION_KEY_FILE).toBeDefined();
    }
  });

  it('Kubernetes: a StatefulSet whose pod name is WORKER_ID, exec probes on the healthcheck, secrets from files, a PodDisruptionBudget', () => {
    const docs = parseAllDocuments(read('config/kubernetes/statefulset.yaml')).map((d) => d.toJSON());
    const sts = docs.find((d) => d.kind === 'StatefulSet');
    expect(docs.map((d) => d.kind)).toEqual(expect.arrayContaining(['StatefulSet', 'PodDisruptionBudget', 'Service']));
    const container = sts.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: any) => [e.name, e]));
    expect(env.WORKER_ID.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    for (const name of Object.keys(env)) expect([name, isKnown(name)]).toEqual([name, true]);
    expect(container.livenessProbe.exec.command).toEqual(['node', 'dist/cli/healthcheck.js']);
    expect(container.readinessProbe.exec.command).toEqual(['node', 'dist/cli/healthcheck.js']);
    expect(Object.keys(env).filter((n) => n.endsWith('_FILE'))).toEqual(expect.arrayContaining(['RABBITMQ_URL_FILE', 'SESSION_ENCRYPTION_KEY_FILE']));
  });

  it('Dockerfile: multi-stage, production dependencies only, non-root, HEALTHCHECK on the built healthcheck', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    // The receipt gate is applied by postinstall: every stage that installs has the patch script first.
    const installs = [...dockerfile.matchAll(/^RUN npm (?:ci|install)\b/gm)].map((m) => m.index!);
    expect(installs.length).toBeGreaterThanOrEqual(2);
    for (const at of installs) expect(dockerfile.slice(dockerfile.lastIndexOf('FROM ', at), at)).toContain('COPY scripts/patch-baileys.mjs');
    expect(dockerfile).toMatch(/^USER node$/m);
    // What HEALTHCHECK runs is a file the build emits and the last stage copies: the built form
    // of a source that exists (tsconfig.build.json maps src/**.ts to dist/**.js).
    const script = /^HEALTHCHECK .*CMD \["node", "(dist\/[^"]+)\.js"\]$/m.exec(dockerfile)?.[1];
    expect(script).toBe('dist/cli/healthcheck');
    const build = JSON.parse(read('tsconfig.build.json')).compilerOptions;
    expect([build.rootDir, build.outDir]).toEqual(['src', 'dist']);
    const source = `${script!.replace(/^dist\//, 'src/')}.ts`;
    expect([source, existsSync(new URL(`../../${source}`, import.meta.url))]).toEqual([source, true]);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    expect(JSON.parse(read('package.json')).scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(JSON.parse(read('package.json')).scripts.healthcheck).toBe(`node ${script}.js`);
  });
});
