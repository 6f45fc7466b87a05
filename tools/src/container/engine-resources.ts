import type { ContainerEngine, Logger } from '../definitions.ts';

/** Registers temporary engine objects so they are removed however the work ends. */
export interface EngineResources {
  image(reference: string): void;
  container(id: string): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs `work`, then removes every container and image it registered: on success, on failure and
 * on SIGINT/SIGTERM/SIGHUP. A signal first waits for the removal (engine calls are asynchronous),
 * then hands over to the other handlers (partial outputs removed, process exits).
 */
export async function withEngineResources<T>(
  engine: ContainerEngine,
  log: Logger,
  work: (resources: EngineResources) => Promise<T>,
): Promise<T> {
  const containers: string[] = [];
  const images: string[] = [];
  let removal: Promise<void> | undefined;
  const removeAll = (): Promise<void> => {
    removal ??= (async () => {
      for (const id of containers.splice(0)) {
        await engine.removeContainer(id).catch((error: unknown) => log.warn(`could not remove container ${id}: ${String(error)}`));
      }
      for (const reference of images.splice(0)) {
        await engine.removeImage(reference).catch((error: unknown) => log.warn(`could not remove image ${reference}: ${String(error)}`));
      }
    })();
    return removal;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    const others = process.listeners(signal).filter((listener) => listener !== onSignal);
    for (const listener of others) process.removeListener(signal, listener);
    void removeAll().finally(() => {
      if (others.length === 0) process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      for (const listener of others) (listener as (s: NodeJS.Signals) => void)(signal);
    });
  };
  for (const signal of SIGNALS) process.prependListener(signal, onSignal);
  try {
    return await work({ image: (reference) => images.push(reference), container: (id) => containers.push(id) });
  } finally {
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
    await removeAll();
  }
}

/** A short random-free name for temporary engine objects: the process id and a counter. */
let counter = 0;
export function temporaryName(purpose: string): string {
  counter += 1;
  return `icos-${purpose}-${process.pid}-${counter}`;
}
