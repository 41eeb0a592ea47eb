import { cpus, freemem, loadavg, totalmem, platform, release } from 'node:os';
import { createRequire } from 'node:module';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  freeMemoryGiB: number;
  loadAverage1m: number;
  node: string;
  os: string;
  baileys: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  let baileys = 'unknown';
  try {
    const require = createRequire(import.meta.url);
    baileys = (require('@whiskeysockets/baileys/package.json') as { version: string }).version;
  } catch {
    // exports map may hide package.json: keep 'unknown'
  }
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    node: process.version,
    os: `${platform()} ${release()}`,
    baileys,
  };
}
