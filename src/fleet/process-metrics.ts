import { totalmem } from 'node:os';

/** CPU and memory of this process, as the backend's heartbeat expects them. */
export class ProcessMetrics {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  sample(): { cpuUsage: number; memoryUsage: number; rssBytes: number; uptime: number } {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedUs = Number(now - this.lastAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const rss = process.memoryUsage.rss();
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      cpuUsage: elapsedUs > 0 ? round(((cpu.user + cpu.system) / elapsedUs) * 100) : 0,
      memoryUsage: round((rss / totalmem()) * 100),
      rssBytes: rss,
      uptime: Math.round(process.uptime()),
    };
  }
}
