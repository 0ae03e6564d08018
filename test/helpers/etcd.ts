import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './daemon-process.js';

/** etcd members not yet stopped: a test that fails before its cleanup must not leave one running past this worker. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface EtcdMember {
  name: string;
  clientUrl: string;
  child: ChildProcess;
  logs: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A real etcd (Debian's etcd-server) as plain processes on loopback ports with a data folder under `dir`: one
 * member, or a cluster of several. Stopped by `stop()`.
 */
export class EtcdCluster {
  readonly members: EtcdMember[] = [];

  private constructor() {}

  static async start(dir: string, size = 1): Promise<EtcdCluster> {
    const cluster = new EtcdCluster();
    const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), peer: await freePort() })));
    const initial = ports.map((p, i) => `etcd${i}=http://127.0.0.1:${p.peer}`).join(',');
    for (const [i, p] of ports.entries()) {
      const name = `etcd${i}`;
      const child = spawn(
        'etcd',
        [
          '--name', name,
          '--data-dir', `${dir}/${name}`,
          '--listen-client-urls', `http://127.0.0.1:${p.client}`,
          '--advertise-client-urls', `http://127.0.0.1:${p.client}`,
          '--listen-peer-urls', `http://127.0.0.1:${p.peer}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
          '--initial-cluster', initial,
          '--initial-cluster-state', 'new',
          '--log-level', 'warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let logs = '';
      child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
      running.add(child);
      child.once('exit', () => running.delete(child));
      cluster.members.push({
        name,
        clientUrl: `http://127.0.0.1:${p.client}`,
        child,
        logs: () => logs,
        async kill(signal = 'SIGKILL') {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          await once(child, 'exit');
        },
      });
    }
    await cluster.waitHealthy();
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Until every member still running answers /health with a leader. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const member of this.members) {
      if (member.child.exitCode !== null) throw new Error(`etcd ${member.name} exited: ${member.logs()}`);
      for (;;) {
        const healthy = await fetch(`${member.clientUrl}/health`).then(async (r) => r.ok && (await r.json()).health === 'true', () => false);
        if (healthy) break;
        if (Date.now() > deadline) throw new Error(`etcd ${member.name} not healthy within ${timeoutMs} ms: ${member.logs()}`);
        await sleep(100);
      }
    }
  }

  /** The member that is the raft leader now, as the running members report it. */
  async leader(): Promise<EtcdMember | undefined> {
    for (const member of this.members) {
      if (member.child.exitCode !== null || member.child.signalCode !== null) continue;
      const status = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' })
        .then((r) => r.json() as Promise<{ header: { member_id: string }; leader: string }>)
        .catch(() => undefined);
      if (status && status.header.member_id === status.leader) return member;
    }
    return undefined;
  }

  /** SIGKILL: the data is thrown away, and a member left alone would spend seconds handing leadership over. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill('SIGKILL')));
  }
}

/**
 * A TCP relay in front of etcd for one bridge: cutting it makes etcd unreachable for that process only (its open
 * connections are dropped and new ones refused) while the rest of the fleet still reaches etcd.
 */
export class CuttableRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private cut = false;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<string> {
    this.server = createServer((client) => {
      if (this.cut) return void client.destroy();
      const upstream = createConnection(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  /** etcd unreachable from now on (and silently: connections are dropped, not refused politely). */
  sever(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
