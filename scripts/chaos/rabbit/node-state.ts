import type { ChildProcess } from 'node:child_process';

/** What the cluster knows about one of its nodes: where its files are, its environment, its processes. */
export interface NodeState {
  index: number;
  name: string;
  short: string;
  port: number;
  distPort: number;
  dir: string;
  logDir: string;
  pidFile: string;
  env: NodeJS.ProcessEnv;
  url: string;
  /** The rabbitmq-server script we spawned (it runs the VM as its child). */
  child: ChildProcess | undefined;
  /** Set when that script exited: the VM is gone (or never came up). */
  exited: string | undefined;
  /** The VM's OS pid, from the pid file, once booted. */
  pid: number | undefined;
}
