import type { Logger } from '../definitions.ts';

/** Logger on stderr, so stdout stays free for data (root hashes, JSON). */
export class ConsoleLogger implements Logger {
  constructor(private readonly isVerbose: boolean) {}

  info(message: string): void {
    process.stderr.write(`${message}\n`);
  }

  verbose(message: string): void {
    if (this.isVerbose) process.stderr.write(`${message}\n`);
  }

  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }
}
