import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

const file = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

describe('deployment files stay true', () => {
  it('the Kubernetes ConfigMap holds a config the bridge accepts once its Secret is filled in', () => {
    const docs = parseAllDocuments(file('deploy/kubernetes/caption-bridge.yaml')).map((d) => d.toJS() as { kind: string; data?: Record<string, string>; stringData?: Record<string, string>; spec?: unknown });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Deployment', 'Service', 'Service']);
    const secretKeys = Object.keys(docs[1]!.stringData!);
    const env = Object.fromEntries(secretKeys.map((key) => [key, key.endsWith('CAPTION_URL') ? 'https://wmcc.zoom.us/closedcaption?id=1&ns=bnM%3D&expire=86400&sparams=id%2Cns%2Cexpire&signature=x' : `filled-in-${key.toLowerCase()}-0123456789`]));
    const config = parseConfig(docs[0]!.data!['caption-bridge.yaml']!, 'configmap', env);
    // As shipped, the Secret's placeholders are refused: the pod listens on 0.0.0.0.
    expect(() => parseConfig(docs[0]!.data!['caption-bridge.yaml']!, 'configmap', { ...env, ...docs[1]!.stringData })).toThrow(/is a placeholder from the examples/);
    expect(config.meetings.map((m) => m.id)).toEqual(['weekly-allhands', 'support-standup', 'town-hall-stage']);
    // Every ${VAR} the config uses is a key of the Secret.
    const used = [...docs[0]!.data!['caption-bridge.yaml']!.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]);
    for (const name of used) expect(secretKeys).toContain(name);
    const deployment = JSON.stringify(docs[3]!.spec);
    expect(deployment).toContain('"replicas":1');
    expect(deployment).toContain('/readyz');
    expect(deployment).toContain('/healthz');
    // A read-only root needs a writable /tmp: the decoders and RTMP pulls write short-lived files there.
    if (deployment.includes('"readOnlyRootFilesystem":true')) expect(deployment).toContain('"mountPath":"/tmp"');
  });

  it('the compose file parses and its bridge uses the quick-start config', () => {
    const compose = parseAllDocuments(file('deploy/compose.yaml'))[0]!.toJS() as { services: Record<string, unknown> };
    expect(Object.keys(compose.services)).toEqual(['caption-bridge', 'mixer']);
    expect(file('Dockerfile')).toContain('CMD ["--config", "config/caption-bridge.yaml"]');
  });

  it('the fleet manifests: replicas that share etcd, one config with the compose fleet, and a disruption budget for both', () => {
    const docs = parseAllDocuments(file('deploy/kubernetes/fleet.yaml')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string>; stringData?: Record<string, string>; spec?: Record<string, unknown> });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ConfigMap/caption-bridge-fleet',
      'Secret/caption-bridge-fleet',
      'Deployment/caption-bridge-fleet',
      'PodDisruptionBudget/caption-bridge-fleet',
      'Service/caption-bridge-fleet',
      'Ingress/caption-bridge-fleet',
      'Service/etcd',
      'StatefulSet/etcd',
      'PodDisruptionBudget/etcd',
    ]);
    const configText = docs[0]!.data!['caption-bridge.yaml']!;
    expect(configText).toBe(file('deploy/fleet/caption-bridge.yaml'));
    const secret = docs[1]!.stringData!;
    const podEnv = { BRIDGE_NAME: 'caption-bridge-fleet-7d9c-abcde', BRIDGE_URL: 'http://10.0.0.7:8080' };
    const filled = Object.fromEntries(Object.entries(secret).map(([key, value]) => [key, value.startsWith('change-me') || value === '' ? `filled-in-${key.toLowerCase()}-0123456789` : value]));
    const config = parseConfig(configText, 'configmap', { ...filled, ...podEnv });
    expect(config.fleet?.etcd.endpoints).toEqual(['http://etcd-0.etcd:2379', 'http://etcd-1.etcd:2379', 'http://etcd-2.etcd:2379']);
    expect(config.fleet?.name).toBe(podEnv.BRIDGE_NAME);
    // Every ${VAR} the config uses comes from the Secret or the pod's own env.
    const deployment = JSON.stringify(docs[2]!.spec);
    for (const [, name] of configText.matchAll(/\$\{([A-Z_]+)/g)) expect(Object.keys(secret).includes(name!) || deployment.includes(`"name":"${name}"`)).toBe(true);
    expect(deployment).toContain('"replicas":3');
    expect(deployment).toContain('/readyz');
    // Longer than the shutdown flush, so a rolling upgrade hands every meeting over with its captions delivered.
    expect(Number(/"terminationGracePeriodSeconds":(\d+)/.exec(deployment)![1])).toBeGreaterThan(10);
    const compose = parseAllDocuments(file('deploy/compose.fleet.yaml'), { merge: true })[0]!.toJS() as { services: Record<string, { volumes?: string[] }> };
    expect(Object.keys(compose.services)).toEqual(['etcd', 'bridge-1', 'bridge-2']);
    expect(compose.services['bridge-1']!.volumes).toEqual(['./fleet/caption-bridge.yaml:/etc/caption-bridge/caption-bridge.yaml:ro']);
  });

  it('every Kubernetes object validates against the Kubernetes schema, and the Ingress exposes only what Zoom and readers need', async () => {
    for (const path of ['deploy/kubernetes/caption-bridge.yaml', 'deploy/kubernetes/fleet.yaml']) {
      for (const doc of parseAllDocuments(file(path)).map((d) => d.toJS() as { apiVersion: string; kind: string })) {
        const model = (await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
        expect(() => new model[doc.kind]!(doc).validate(), `${path}: ${doc.kind}`).not.toThrow();
      }
    }
    const ingress = parseAllDocuments(file('deploy/kubernetes/fleet.yaml')).map((d) => d.toJS() as { kind: string; spec?: { tls?: unknown[]; rules?: { http: { paths: { path: string }[] } }[] } }).find((d) => d.kind === 'Ingress')!;
    expect(ingress.spec!.tls).toHaveLength(1);
    expect(ingress.spec!.rules!.flatMap((r) => r.http.paths.map((p) => p.path))).toEqual(['/zoom/webhook', '/captions/']);
    // The Ingress's proxies are trusted, so the throttle sees each client, not the controller.
    expect(file('deploy/fleet/caption-bridge.yaml')).toMatch(/trustedProxies: \["10\.0\.0\.0\/8"\]/);
    // A deliberately broken object fails, so the check above is not vacuous.
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    expect(() => new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 'http' }] }] } } } } as never).validate()).toThrow(/containerPort must be integer/);
  });
});
