/**
 * Everything a run starts registers how to stop it here; `run()` stops it all in reverse order,
 * each step bounded, errors noted and skipped, so a failure or a Ctrl-C never leaves a cluster,
 * an S3 server or a worker process behind.
 */
export class Teardown {
  private readonly steps: Array<{ name: string; fn: () => Promise<unknown> | unknown }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<unknown> | unknown): void {
    this.steps.push({ name, fn });
  }

  run(stepTimeoutMs = 60_000): Promise<void> {
    this.running ??= (async () => {
      for (const { name, fn } of this.steps.splice(0).reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            process.stderr.write(`teardown: "${name}" did not finish within ${stepTimeoutMs} ms; moving on\n`);
            resolve();
          }, stepTimeoutMs);
        });
        try {
          await Promise.race([Promise.resolve().then(fn), timeout]);
        } catch (err) {
          process.stderr.write(`teardown: "${name}" failed: ${(err as Error).message}\n`);
        } finally {
          clearTimeout(timer);
        }
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }
}
