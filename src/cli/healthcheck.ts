/**
 * `npm run healthcheck` / `node dist/cli/healthcheck.js`: exit 0 when the worker on this host is
 * healthy, 1 otherwise (for Docker HEALTHCHECK and Kubernetes exec probes; no HTTP involved).
 * Reads the same environment as the worker, so it finds the same health file.
 */
import { loadConfig } from '../config/config.js';
import { judgeHealth, readHealthFile } from '../fleet/health-file.js';

const config = loadConfig(process.env);
const verdict = judgeHealth(await readHealthFile(config.health.file), Date.now(), config.health);
if (verdict.ok) {
  process.stdout.write(`healthy: ${verdict.summary}\n`);
  process.exit(0);
}
process.stderr.write(`unhealthy: ${verdict.reason}\n`);
process.exit(1);
