import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI_DIST_PORT_COUNT, CLI_DIST_PORT_OFFSET } from './constants.js';

// Who the nodes run as, and where the RabbitMQ scripts are

export interface Identity {
  uid?: number;
  gid?: number;
  home: string;
  user: string;
}

/**
 * As root: the `rabbitmq` user when it exists (Debian's package), so the nodes share the cookie in
 * /var/lib/rabbitmq with the default node and with Debian's /usr/sbin/rabbitmqctl wrapper (which
 * su's to rabbitmq). Otherwise the current user and its own ~/.erlang.cookie.
 */
export async function resolveIdentity(): Promise<Identity> {
  const self: Identity = { home: process.env.HOME ?? os.homedir(), user: os.userInfo().username };
  if (process.getuid?.() !== 0) return self;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const fields = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((f) => f[0] === 'rabbitmq');
  if (!fields || fields[2] === undefined || fields[3] === undefined) return self;
  return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] || '/var/lib/rabbitmq', user: 'rabbitmq' };
}

/**
 * The real scripts, not Debian's /usr/sbin wrappers: those su to rabbitmq through a re-quoted
 * command line and refuse any user but root and rabbitmq. CHAOS_RABBITMQ_BIN_DIR overrides; else
 * PATH (a generic-unix or Homebrew install has the real scripts there).
 */
export function rabbitBin(name: 'rabbitmq-server' | 'rabbitmqctl'): string {
  const dir = process.env.CHAOS_RABBITMQ_BIN_DIR ?? (existsSync('/usr/lib/rabbitmq/bin/rabbitmqctl') ? '/usr/lib/rabbitmq/bin' : undefined);
  return dir ? path.join(dir, name) : name;
}

/**
 * Erlang creates a missing cookie on first use, with a random value; three nodes booting at once
 * could each write a different one and never talk to each other. So one is made up front.
 */
export async function ensureCookie(identity: Identity): Promise<void> {
  const file = path.join(identity.home, '.erlang.cookie');
  if (existsSync(file)) return;
  const cookie = Array.from(randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');
  await writeFile(file, cookie, { mode: 0o400, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  if (identity.uid !== undefined) await chown(file, identity.uid, identity.gid ?? identity.uid);
}

/** The process environment minus anything that would steer RabbitMQ or Erlang elsewhere. */
function cleanEnv(identity: Identity): NodeJS.ProcessEnv {
  const steering =
    /^(RABBITMQ_|ERL_)|^(NODENAME|NODE_IP_ADDRESS|NODE_PORT|DIST_PORT|CONFIG_FILE|CONF_ENV_FILE|MNESIA_BASE|MNESIA_DIR|LOG_BASE|PID_FILE|USE_LONGNAME)$/;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!steering.test(k)) env[k] = v;
  env.HOME = identity.home;
  env.USER = env.LOGNAME = identity.user;
  // The Elixir CLI warns about (and may mangle) non-UTF-8 output under a latin1 locale.
  if (!/utf-?8/i.test(env.LC_ALL ?? env.LANG ?? '')) env.LC_ALL = 'C.UTF-8';
  return env;
}

export function toolEnv(identity: Identity, basePort: number, confEnvFile: string): NodeJS.ProcessEnv {
  return {
    ...cleanEnv(identity),
    // An empty file: /etc/rabbitmq/rabbitmq-env.conf would otherwise set NODENAME=rabbit@localhost.
    RABBITMQ_CONF_ENV_FILE: confEnvFile,
    RABBITMQ_CTL_DIST_PORT_MIN: String(basePort + CLI_DIST_PORT_OFFSET),
    RABBITMQ_CTL_DIST_PORT_MAX: String(basePort + CLI_DIST_PORT_OFFSET + CLI_DIST_PORT_COUNT - 1),
    RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}
