import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { EnvHttpProxyAgent, setGlobalDispatcher } from 'undici';
import { redactUrl } from '../redact.js';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

/**
 * Many organisations reach the internet only through an HTTP(S) proxy. When the environment names one (HTTPS_PROXY,
 * HTTP_PROXY, NO_PROXY, in either case, as curl reads them), every HTTP request the bridge makes goes through it: the
 * Zoom API and OAuth, the Caption URL POSTs (all undici); WebSocket connections take proxyAgentFor. Returns the
 * proxies in use, redacted, for the start-up log; undefined when none is set.
 */
export function useEnvironmentProxy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = PROXY_VARIABLES.filter((name) => env[name]);
  if (named.length === 0) return undefined;
  setGlobalDispatcher(new EnvHttpProxyAgent());
  // Google's engine speaks gRPC (grpc-js), which reads only the lower-case names: give it the same proxy.
  for (const name of ['https_proxy', 'http_proxy', 'no_proxy']) {
    const upper = env[name.toUpperCase()];
    if (env[name] === undefined && upper !== undefined) env[name] = upper;
  }
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  return `${[...new Set(named.map((name) => redactUrl(env[name]!)))].join(', ')}${noProxy ? ` (not for ${noProxy})` : ''}`;
}

const agents = new Map<string, Agent>();

/**
 * The agent a WebSocket to `url` (a cloud engine, Zoom's RTMS servers) connects through: an HTTP CONNECT tunnel
 * through the proxy the environment names for it (wss:// as https://, ws:// as http://), or undefined to connect
 * directly (no proxy, or NO_PROXY covers the host). One agent per proxy, kept for the process.
 */
export function proxyAgentFor(url: string): Agent | undefined {
  const asHttp = url.replace(/^ws(s?):/i, 'http$1:');
  const proxy = getProxyForUrl(asHttp);
  if (!proxy) return undefined;
  let agent = agents.get(proxy);
  if (!agent) {
    agent = new HttpsProxyAgent(proxy);
    agents.set(proxy, agent);
  }
  return agent;
}
