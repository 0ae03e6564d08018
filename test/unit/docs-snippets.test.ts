import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = ['README.md', ...readdirSync(`${root}docs`).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
const FULL_CAPTION_URL = 'https://wmcc.zoom.us/closedcaption?id=200610693&ns=GZHkEA%3D%3D&expire=86400&sparams=id%2Cns%2Cexpire&signature=nYtXJqRKCW';

/** What a snippet that shows one part of a config leaves to the rest of the file: a meeting, the two Zoom apps. */
const REST_OF_THE_FILE = {
  http: { host: '127.0.0.1' },
  zoomApi: { accountId: 'acct', clientId: 's2s-client-id', clientSecret: 's2s-client-secret' },
  rtmsApp: { clientId: 'rtms-client-id', clientSecret: 'rtms-client-secret', webhookSecret: 'rtms-secret-token-0123456789' },
  meetings: [{ id: 'snippet-base', source: { type: 'websocket', token: 'ingest-token-0123456789' }, captions: [{ stdout: {} }] }],
};

/** A value for every ${VAR} a snippet names, as a user would set it (a Caption URL for a Caption URL). */
function environmentFor(text: string): Record<string, string> {
  const names = [...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!);
  const examples: Record<string, string> = {
    TEAMS_CART_URL: 'https://api.captions.office.microsoft.com/cartcaption?meetingid=04751eac-30e6&token=04751eac&lang=en-us',
    YOUTUBE_CAPTION_URL: 'http://upload.youtube.com/closedcaption?cid=abcd-efgh-ijkl-mnop',
  };
  return Object.fromEntries(names.map((name) => [name, examples[name] ?? (name.endsWith('CAPTION_URL') ? FULL_CAPTION_URL : name.endsWith('_URL') ? 'http://10.0.0.7:8080' : name === 'ETCD_ENDPOINTS' ? 'http://127.0.0.1:2379' : `filled-in-${name.toLowerCase()}-0123456789`)]));
}

describe('the docs show configs the bridge takes', () => {
  const snippets = pages.flatMap((page) => [...readFileSync(`${root}${page}`, 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m, i) => ({ page, i, text: m[1]! })));

  it('finds the snippets (the check below is not vacuous)', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(8);
  });

  it.each(snippets.map((s) => [`${s.page} #${s.i + 1}`, s] as const))('%s passes --check with the rest of a file around it', (_, snippet) => {
    const shown = parse(snippet.text) as Record<string, unknown>;
    const whole = stringify({ ...REST_OF_THE_FILE, ...shown });
    expect(() => parseConfig(whole, `${snippet.page} #${snippet.i + 1}`, environmentFor(snippet.text))).not.toThrow();
  });
});
