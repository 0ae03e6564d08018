import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

const file = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

describe('deployment files stay true', () => {
  it('the Kubernetes ConfigMap holds a config the bridge accepts once its Secret is filled in', () => {
    const docs = parseAllDocuments(file('deploy/kubernetes/caption-bridge.yaml')).map((d) => d.toJS() as { kind: string; data?: Record<string, string>; stringData?: Record<string, string>; spec?: unknown });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Deployment', 'Service']);
    const secretKeys = Object.keys(docs[1]!.stringData!);
    const env = Object.fromEntries(secretKeys.map((key) => [key, key.endsWith('CAPTION_URL') ? 'https://wmcc.zoom.us/closedcaption?id=1&signature=x' : `filled-in-${key.toLowerCase()}-0123456789`]));
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
});
