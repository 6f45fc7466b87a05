/**
 * Ports: the small interfaces through which core code reaches external systems.
 * Adapters live in `infra/`, named after the library they wrap; tests pass fakes.
 */

export interface RunOptions {
  /** Bytes or text written to the tool's standard input. */
  input?: string | Buffer;
  /** Variables added to the minimal environment every tool gets. */
  env?: Record<string, string>;
  cwd?: string;
  /** The artifact being made, named in error messages (for example `ext4(root.img)`). */
  artifact?: string;
  /** Exit codes that are not failures (fsck-style tools report findings through them). */
  okExitCodes?: readonly number[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs one external tool. Every subprocess of icos goes through this port. */
export interface CommandRunner {
  run(tool: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Where output and diagnostics go. */
export interface Logger {
  info(message: string): void;
  verbose(message: string): void;
  warn(message: string): void;
}
