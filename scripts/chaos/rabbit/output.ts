/** Tails of command output and log files for error messages; the JSON in rabbitmqctl's output. */
import { readFile } from 'node:fs/promises';

export function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export async function fileTail(file: string, lines = 25): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text ? `[${file}]\n${tail(text, lines)}` : '';
}

export function parseJsonOutput<T>(stdout: string, what: string): T {
  const start = stdout.search(/[[{]/);
  if (start < 0) throw new Error(`rabbit-cluster: ${what}: no JSON in output: ${tail(stdout, 5)}`);
  return JSON.parse(stdout.slice(start)) as T;
}
