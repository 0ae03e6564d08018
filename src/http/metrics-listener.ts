import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { BridgeMetrics } from '../metrics.js';
import { listen } from '../util/listen.js';
import { json } from './respond.js';

/** The Prometheus text of every metric, or a 500 that says the collection failed. */
export function sendMetrics(res: ServerResponse, metrics: BridgeMetrics, log: Logger): void {
  void metrics.text().then(
    (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
    (err: unknown) => {
      log.error({ err: errorMessage(err) }, 'metrics collection failed');
      json(res, 500, { error: 'metrics collection failed' });
    },
  );
}

/**
 * A listener of its own for GET /metrics and nothing else (http.metricsPort), for a scraper that cannot be given
 * the admin token (Prometheus's pod annotations carry no credentials): the counters say how the captions go, not
 * how to steer the bridge. Keep the port inside the cluster.
 */
export class MetricsListener {
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  constructor(
    metrics: BridgeMetrics,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
      if ((req.url ?? '').split('?')[0] !== '/metrics') return json(res, 404, { error: 'this port serves /metrics only' });
      sendMetrics(res, metrics, log);
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    // A scraper or two; never a reason for the process to hold many sockets.
    this.server.maxConnections = 32;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listen(this.server, port, host, (err) => this.log.error({ err: errorMessage(err) }, 'metrics listener error'));
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }
}
