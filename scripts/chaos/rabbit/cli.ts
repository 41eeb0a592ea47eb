/** The start|stop|status command line of rabbit-cluster.ts (usage in its header comment). */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_BASE_PORT, DEFAULT_PREFIX, HOST, shortNames } from './constants.js';
import { rabbitBin, resolveIdentity, toolEnv } from './identity.js';
import { epmdNames, listBeamProcesses, stopLeftovers } from './leftovers.js';
import { runCommand } from './processes.js';
import { startCluster } from './start-cluster.js';

export async function cli(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      size: { type: 'string' },
      'base-port': { type: 'string' },
      prefix: { type: 'string' },
      'base-dir': { type: 'string' },
      'keep-dir': { type: 'boolean' },
      formation: { type: 'string' },
    },
  });
  const command = positionals[0];
  const prefix = values.prefix ?? DEFAULT_PREFIX;
  const basePort = values['base-port'] !== undefined ? Number(values['base-port']) : DEFAULT_BASE_PORT;
  switch (command) {
    case 'start': {
      const cluster = await startCluster({
        size: values.size !== undefined ? Number(values.size) : undefined,
        basePort,
        namePrefix: prefix,
        baseDir: values['base-dir'],
        keepDir: values['keep-dir'] ?? false,
        formation: values.formation === 'discovery' ? 'discovery' : 'join',
      });
      process.stdout.write(
        `${JSON.stringify({ urls: cluster.urls, url: cluster.url, nodes: cluster.nodes, baseDir: cluster.baseDir, timings: cluster.timings })}\n`,
      );
      // Signal listeners alone do not keep Node running: without the timer it would exit here.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(keepAlive);
      await cluster.stop();
      return 0;
    }
    case 'stop': {
      const report = await stopLeftovers(prefix, { basePort });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return 0;
    }
    case 'status': {
      // The nodes tagged with this prefix; where /proc shows nothing, the registered names prefix1..size.
      const tagged = (await listBeamProcesses()).filter((b) => b.prefix === prefix && b.nodename !== undefined).map((b) => b.nodename!);
      const expected = new Set(shortNames(prefix, values.size !== undefined ? Number(values.size) : 3));
      const registered = tagged.length ? tagged.sort() : (await epmdNames()).filter((n) => expected.has(n)).map((n) => `${n}@${HOST}`);
      if (registered.length === 0) {
        process.stdout.write(`no node of a ${prefix} cluster is running\n`);
        return 1;
      }
      const identity = await resolveIdentity();
      const env = toolEnv(identity, basePort, '/dev/null');
      let lastError: unknown;
      for (const name of registered) {
        try {
          const { stdout } = await runCommand(rabbitBin('rabbitmqctl'), ['-n', name, 'cluster_status'], {
            env,
            cwd: os.tmpdir(),
            identity,
            timeoutMs: 60_000,
            node: name,
          });
          process.stdout.write(stdout);
          return 0;
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    }
    default:
      process.stderr.write(
        'usage: node --import tsx scripts/chaos/rabbit-cluster.ts start|stop|status [--size 3] [--base-port 5701] [--prefix chaos] [--base-dir DIR] [--keep-dir] [--formation join|discovery]\n',
      );
      return 2;
  }
}

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was asked to run. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

/** Runs the command line and exits with its code; an error's message goes to stderr, exit code 1. */
export function runCli(argv: string[]): void {
  cli(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
