import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface DaemonProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Daemons not yet stopped: a test that fails before its cleanup must not leave one running past this worker. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts the built daemon as its own process (as a user would) and waits until /readyz says ready. */
export async function startDaemonProcess(configFile: string, port: number, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, '--config', configFile], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  running.add(child);
  child.once('exit', () => running.delete(child));
  const deadline = Date.now() + 20_000;
  // What /readyz last said (or why it could not be asked): a start that never gets ready says what it waits for.
  let lastAnswer = 'no answer yet';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${err}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      async (r) => {
        lastAnswer = `${r.status} ${(await r.text()).slice(0, 500)}`;
        return r.status === 200;
      },
      (e: unknown) => {
        lastAnswer = `no answer: ${(e as Error).message}`;
        return false;
      },
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`daemon not ready within 20 s (/readyz on port ${port}: ${lastAnswer}); its log: ${err.slice(0, 4_000)}`);
    }
    await sleep(100);
  }
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      // Ended already: by itself (exitCode) or by a signal (signalCode, exitCode stays null).
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** A free TCP port on loopback (the daemon is a separate process, so it cannot hand back port 0's choice). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
