import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import type { BuildProgress, ContainerEngine, ImageBuildRequest } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { systemReason } from '../messages.ts';

// dockerode (with ssh2 behind it) takes a noticeable part of a second to load: only commands that
// construct an engine pay for it.
const requireCjs = createRequire(import.meta.url);
let dockerClass: typeof Docker | undefined;
function makeDocker(options?: Docker.DockerOptions): Docker {
  dockerClass ??= requireCjs('dockerode') as typeof Docker;
  return new dockerClass(options);
}

/** Output lines of a failing step shown in its error message. */
const FAILED_STEP_LINES_SHOWN = 15;
const PING_TIMEOUT_MS = 5000;

/** A JSON message of the engine's progress streams (build, push, pull, import). */
interface EngineMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

/** Where dockerode will look for the engine, spelt the way DOCKER_HOST is (its own default rules). */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '') return env.DOCKER_HOST;
  const userSocket = path.join(homedir(), '.docker', 'run', 'docker.sock');
  return `unix://${existsSync(userSocket) ? userSocket : '/var/run/docker.sock'}`;
}


/** Reads a progress stream to its end, handing each JSON message over; rejects on an error message. */
function followProgress(
  modem: Docker['modem'],
  stream: NodeJS.ReadableStream,
  onMessage: (message: EngineMessage) => void,
): Promise<EngineMessage[]> {
  return new Promise((resolve, reject) => {
    modem.followProgress(
      stream,
      (error: Error | null, messages: EngineMessage[]) => (error === null ? resolve(messages) : reject(error)),
      onMessage,
    );
  });
}

function messageError(message: EngineMessage): string | undefined {
  return message.errorDetail?.message ?? message.error;
}

/**
 * ContainerEngine on dockerode. The engine is chosen by DOCKER_HOST exactly as the docker CLI
 * does (unset: the local socket), so Podman's Docker-compatible socket works too. Builds use the
 * host network so that the engine needs no bridge or netfilter set-up.
 */
export class DockerodeContainerEngine implements ContainerEngine {
  readonly endpoint = engineEndpoint();
  private readonly docker = makeDocker();

  async ping(): Promise<void> {
    const quick = makeDocker({ timeout: PING_TIMEOUT_MS });
    try {
      await quick.ping();
    } catch (error) {
      throw new UserError(
        `Container engine at "${this.endpoint}" does not answer: ${systemReason(error)}`,
        'start it with: bash tools/services.sh (or point DOCKER_HOST at a running Docker or Podman socket)',
      );
    }
  }

  async importImage(tarPath: string, reference: string): Promise<string> {
    const { repository, tag } = splitTag(reference);
    const stream = await this.docker.importImage(tarPath, { repo: repository, tag });
    const messages = await followProgress(this.docker.modem, stream, () => {});
    const failed = messages.map(messageError).find((m) => m !== undefined);
    if (failed !== undefined) throw new UserError(`Importing "${tarPath}" as "${reference}" failed: ${failed}`);
    return (await this.docker.getImage(reference).inspect()).Id;
  }

  async buildImage(request: ImageBuildRequest, onProgress: (progress: BuildProgress) => void): Promise<string> {
    const stream = await this.docker.buildImage(request.context, {
      t: request.tag,
      dockerfile: request.dockerfile,
      buildargs: request.buildArgs,
      nocache: request.noCache,
      rm: true,
      forcerm: true,
      networkmode: 'host',
    });
    let step = '';
    let stepOutput: string[] = [];
    let imageId: string | undefined;
    let failure: string | undefined;
    await followProgress(this.docker.modem, stream, (message) => {
      if (message.aux?.ID !== undefined) imageId = message.aux.ID;
      const error = messageError(message);
      if (error !== undefined) failure ??= error;
      // The classic builder colours stderr red with ANSI codes: plain text in messages.
      for (const line of (message.stream ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
        if (line.trim() === '') continue;
        if (/^Step \d+\/\d+ : /.test(line)) {
          step = line;
          stepOutput = [];
        } else if (!/^ ---> |^Removing intermediate container /.test(line)) {
          stepOutput.push(line);
        }
        onProgress({ text: line });
      }
    }).catch((error: unknown) => {
      failure ??= systemReason(error);
    });
    if (failure !== undefined) {
      const tail = stepOutput.slice(-FAILED_STEP_LINES_SHOWN).map((line) => `  | ${line}`);
      throw new UserError(
        `${request.artifact}: ${request.dockerfile} ${step === '' ? 'could not start' : `step "${step}" failed`}: ${failure.trim()}` +
          (tail.length === 0 ? '' : `\n${tail.join('\n')}`),
      );
    }
    if (imageId === undefined) {
      // Some engines (older Podman) do not send the aux ID: look the tag up instead.
      imageId = (await this.docker.getImage(request.tag).inspect()).Id;
    }
    return imageId;
  }

  async pushImage(reference: string): Promise<string> {
    const { repository, tag } = splitTag(reference);
    // An empty auth header: the engine refuses a push without one, and the local registry needs none.
    const stream = await this.docker.getImage(repository).push({ tag, authconfig: {} } as Docker.ImagePushOptions);
    let digest: string | undefined;
    const messages = await followProgress(this.docker.modem, stream, (message) => {
      digest ??= message.aux?.Digest;
    });
    const failed = messages.map(messageError).find((m) => m !== undefined);
    if (failed !== undefined) {
      throw new UserError(`Pushing "${reference}" failed: ${failed}`, 'is the registry running? bash tools/services.sh');
    }
    if (digest === undefined) throw new UserError(`Pushing "${reference}": the engine reported no digest`);
    return digest;
  }

  async ensureImage(reference: string): Promise<boolean> {
    if (await this.hasImage(reference)) return true;
    try {
      const stream = await this.docker.pull(reference, { authconfig: {} });
      const messages = await followProgress(this.docker.modem, stream, () => {});
      return messages.every((m) => messageError(m) === undefined);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 || /not found|manifest unknown/i.test(systemReason(error))) return false;
      throw new UserError(`Pulling "${reference}" failed: ${systemReason(error)}`, 'is the registry running? bash tools/services.sh');
    }
  }

  async hasImage(reference: string): Promise<boolean> {
    try {
      await this.docker.getImage(reference).inspect();
      return true;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return false;
      throw error;
    }
  }

  async tagImage(source: string, reference: string): Promise<void> {
    const { repository, tag } = splitTag(reference);
    await this.docker.getImage(source).tag({ repo: repository, tag });
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }

  async createContainer(image: string, name: string): Promise<string> {
    // A command is required to create a container even though this one is never started.
    const container = await this.docker.createContainer({ Image: image, name, Cmd: ['/bin/true'], NetworkDisabled: true });
    return container.id;
  }

  async exportContainer(id: string): Promise<NodeJS.ReadableStream> {
    return this.docker.getContainer(id).export();
  }

  async readArchive(id: string, archivePath: string): Promise<NodeJS.ReadableStream> {
    return this.docker.getContainer(id).getArchive({ path: archivePath });
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
}

/** Splits `registry:port/name:tag` into repository and tag (the port colon is not a tag). */
export function splitTag(reference: string): { repository: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: 'latest' };
}
