#!/usr/bin/env node
/* global URL, process, console, setTimeout */
/**
 * Makes sure a RabbitMQ answers before `npm test` / `npm run demo` need one, so a newcomer's
 * first run does not just fail: it uses the broker at RABBITMQ_URL (default 127.0.0.1:5672) if one
 * answers; otherwise starts the local `rabbitmq-server` if it is installed, or a RabbitMQ
 * container if a Docker engine runs; otherwise says exactly what to install. Plain Node, no
 * dependencies: it runs before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

const url = new URL(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const host = url.hostname || '127.0.0.1';
const port = Number(url.port || (url.protocol === 'amqps:' ? 5671 : 5672));
const local = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);

/** Resolves true when something accepts TCP on host:port within 1 s. */
function answers() {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const has = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

async function waitForPort(seconds) {
  for (let i = 0; i < seconds; i++) {
    if (await answers()) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

if (await answers()) process.exit(0);
if (!local) {
  console.error(`RabbitMQ does not answer at ${host}:${port} (RABBITMQ_URL). Start it, or unset RABBITMQ_URL to use a local one.`);
  process.exit(1);
}

let started = false;
if (which('rabbitmq-server')) {
  console.error(`RabbitMQ is not answering on ${host}:${port}; starting the local rabbitmq-server…`);
  spawnSync('rabbitmq-server', ['-detached'], { stdio: 'inherit' });
  started = await waitForPort(90);
  // The port opens before the broker accepts AMQP sessions: wait for the application itself.
  if (started && which('rabbitmqctl')) spawnSync('rabbitmqctl', ['await_startup', '--timeout', '120'], { stdio: 'ignore' });
} else if (which('docker') && has('docker', ['info'])) {
  console.error(`RabbitMQ is not answering on ${host}:${port}; starting a RabbitMQ container (management UI on :15672)…`);
  const run = spawnSync('docker', ['run', '-d', '--rm', '--name', 'wa-worker-rabbitmq', '-p', `${port}:5672`, '-p', '15672:15672', 'rabbitmq:4-management'], {
    stdio: 'inherit',
  });
  started = run.status === 0 && (await waitForPort(120));
}

if (!started) {
  console.error(
    [
      `No RabbitMQ answers on ${host}:${port}, and none could be started here.`,
      'Install one of:',
      '  - Debian/Ubuntu: sudo apt-get install rabbitmq-server   (then run this again; it starts it)',
      '  - macOS:         brew install rabbitmq && brew services start rabbitmq',
      '  - Docker:        docker run -d --name rabbitmq -p 5672:5672 -p 15672:15672 rabbitmq:4-management',
      'or point RABBITMQ_URL at a broker. `npm run test:unit` needs no broker.',
    ].join('\n'),
  );
  process.exit(1);
}
