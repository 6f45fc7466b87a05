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

/** A tool whose standard output is read as it comes (too large to hold: a decompressed image). */
export interface StreamingRun {
  stdout: NodeJS.ReadableStream;
  /** Settles when the tool ends: rejects like `run` on failure (not after `stop`). */
  done: Promise<void>;
  /** Ends the tool early (a reader that has seen enough); `done` then resolves. */
  stop(): void;
}

/** Runs one external tool. Every subprocess of icos goes through this port. */
export interface CommandRunner {
  run(tool: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stream(tool: string, args: readonly string[], options?: Pick<RunOptions, 'artifact'>): StreamingRun;
  /**
   * Runs a tool on this process's stdin, stdout and stderr (a VM's console) and returns its exit
   * status, 128 + signal number when a signal ended it. SIGINT or SIGTERM to icos stops the tool
   * first (no orphan), then `interactive` returns 128 + that signal's number.
   */
  interactive(tool: string, args: readonly string[], options?: InteractiveOptions): Promise<number>;
}

export interface InteractiveOptions {
  env?: Record<string, string>;
  /** Aborting it stops the tool (SIGTERM, SIGKILL if it lingers): the caller's time limit. */
  signal?: AbortSignal;
}

/** Where output and diagnostics go. */
export interface Logger {
  info(message: string): void;
  verbose(message: string): void;
  warn(message: string): void;
}

/** One line of build progress from the container engine, and which step it belongs to. */
export interface BuildProgress {
  /** Text the engine printed (a step header such as `Step 3/9 : RUN ...`, or that step's output). */
  text: string;
}

/** What to build with `ContainerEngine.buildImage`. */
export interface ImageBuildRequest {
  /** The build context as an uncompressed tar stream. */
  context: NodeJS.ReadableStream;
  /** Dockerfile path inside the context. */
  dockerfile: string;
  /** Tag for the result, `repository:tag`. */
  tag: string;
  buildArgs: Record<string, string>;
  /** Disable the engine's layer cache (reproducible builds). */
  noCache: boolean;
  /** Artifact named in error messages. */
  artifact: string;
}

/** The Docker Engine API (or a compatible one such as Podman's), reached through dockerode. */
export interface ContainerEngine {
  /** Where the engine is looked for, for messages (`unix:///var/run/docker.sock`, `tcp://...`). */
  readonly endpoint: string;
  /** Throws a UserError naming the endpoint when the engine does not answer. */
  ping(): Promise<void>;
  /** Imports a root filesystem tar as a single-layer image tagged `reference`; returns the image id. */
  importImage(tarPath: string, reference: string): Promise<string>;
  /** Builds an image, reporting progress; returns the image id. Throws with the failing step. */
  buildImage(request: ImageBuildRequest, onProgress: (progress: BuildProgress) => void): Promise<string>;
  /** Pushes `repository:tag` and returns the manifest digest (`sha256:...`) the registry stored. */
  pushImage(reference: string): Promise<string>;
  /** Pulls a reference unless it is present; returns false when the registry does not have it. */
  ensureImage(reference: string): Promise<boolean>;
  /** True when the engine holds an image with this reference or id. */
  hasImage(reference: string): Promise<boolean>;
  /** Tags an existing image with another `repository:tag`. */
  tagImage(source: string, reference: string): Promise<void>;
  removeImage(reference: string): Promise<void>;
  /** Creates (never starts) a container from an image; returns its id. */
  createContainer(image: string, name: string): Promise<string>;
  /** The container's whole filesystem as a tar stream. */
  exportContainer(id: string): Promise<NodeJS.ReadableStream>;
  /** One path of the container's filesystem as a tar stream. */
  readArchive(id: string, path: string): Promise<NodeJS.ReadableStream>;
  removeContainer(id: string): Promise<void>;
}
