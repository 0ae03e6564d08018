import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from '../../../src/asr/options.js';
import { parseConfig } from '../../../src/config/load.js';
import { configProblems } from '../../helpers/config-problems.js';

const CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../../config/caption-bridge.yaml', import.meta.url));


const minimal = (captions = '[ { stdout: {} } ]') => `meetings:
  - id: weekly-allhands
    source:
      type: websocket
      token: \${INGEST_TOKEN}
    captions: ${captions}
`;

describe('config', () => {
  it('substitutes ${VAR} and ${VAR:-default} in values and fills the defaults', () => {
    const config = parseConfig(
      `http: { port: "\${PORT:-9090}" }\n${minimal('[ { zoom: { url: "${ZOOM_CAPTION_URL}" } } ]')}`,
      'c.yaml',
      { INGEST_TOKEN: 's3cret-0123456789abcdef', ZOOM_CAPTION_URL: 'https://wmcc.zoom.us/closedcaption?id=1&ns=bnM%3D&expire=86400&sparams=id%2Cns%2Cexpire&signature=x' },
    );
    expect(config.http).toEqual({ host: '0.0.0.0', port: 9090, trustedProxies: [], allowedOrigins: [], maxReaders: 2000 });
    expect(config.meetings[0]!.source).toEqual({ type: 'websocket', token: 's3cret-0123456789abcdef', idleTimeoutMs: 30_000 });
    expect(config.meetings[0]!.asr).toMatchObject({ engine: 'pocketsphinx', language: 'en-US', endpointSilenceMs: 500, profile: 'fast' });
    expect(config.meetings[0]!.captions[0]!.zoom).toMatchObject({ url: 'https://wmcc.zoom.us/closedcaption?id=1&ns=bnM%3D&expire=86400&sparams=id%2Cns%2Cexpire&signature=x', optional: false });
    expect(config.state.dir).toBe('./state');
    expect(config.meetings[0]!.text).toMatchObject({ fillers: 'drop', numbers: 'digits', profanity: 'keep', replacements: {} });
    expect(config.meetings[0]!.archive).toEqual({ keepDays: 90, maxMegabytes: 200 });
  });

  it('checks the text rules and names the bad key', () => {
    const yaml = minimal().replace('    captions:', '    text: { numbers: roman, replacements: { zoom: "" } }\n    captions:');
    expect(configProblems(yaml, { INGEST_TOKEN: 't' })).toEqual([
      '6:22 meetings[0].text.numbers: Invalid option: expected one of "digits"|"words"',
      expect.stringMatching(/^6:51 meetings\[0\]\.text\.replacements\.zoom: Too small/),
    ]);
  });

  it('names the YAML path and line of every problem', () => {
    const found = configProblems(
      `http: { port: 99999 }
meetings:
  - id: Bad_Id
    source: { type: websocket, token: "\${NOT_SET}" }
    asr: { engine: whisper, langauge: en-US }
    captions:
      - zoom: { url: "not a url" }
      - file: { path: out.doc }
      - {}
`,
    );
    expect(found).toEqual([
      '4:39 meetings[0].source.token: environment variable NOT_SET is not set',
      expect.stringMatching(/^1:15 http\.port: .*65535/),
      '3:9 meetings[0].id: meeting id must be lower-case letters, digits and dashes (it appears in URLs)',
      `5:20 meetings[0].asr.engine: unknown engine "whisper"; available: ${ENGINES.join(', ')}`,
      '5:10 meetings[0].asr: Unrecognized key: "langauge"',
      '7:22 meetings[0].captions[0].zoom.url: caption URL is not a valid URL: [REDACTED]',
      '8:23 meetings[0].captions[1].file.path: transcript file must end in .vtt, .srt or .txt',
      '9:9 meetings[0].captions[2]: each caption destination needs exactly one of zoom, teams, youtube, file, stdout, page (got none)',
    ]);
  });

  it('refuses a language the embedded English model cannot hear, instead of captioning it as English', () => {
    const lang = (asr: string): string[] => configProblems(`http: { host: 127.0.0.1 }\nmeetings:\n  - { id: a, source: { type: websocket, token: t }, asr: ${asr}, captions: [ { stdout: {} } ] }\n`);
    expect(lang('{ language: de-DE }')).toEqual([expect.stringMatching(/meetings\[0\]\.asr\.language: the embedded engine's model is US English only: de-DE speech would be captioned as English-sounding words/)]);
    expect(lang('{ language: en-GB }')).toEqual([]);
    expect(lang('{ engine: deepgram, apiKey: k, language: de-DE }')).toEqual([]);
  });

  it('refuses duplicate meeting ids and an empty zoom url unless marked optional', () => {
    const twice = `http: { host: 127.0.0.1 }\nmeetings:\n${[1, 2].map(() => `  - { id: a, source: { type: websocket, token: t }, captions: [ { zoom: { url: "" } } ] }`).join('\n')}\n`;
    expect(configProblems(twice)).toEqual([
      '3:80 meetings[0].captions[0].zoom.url: caption URL is not a valid URL: [REDACTED]',
      '4:80 meetings[1].captions[0].zoom.url: caption URL is not a valid URL: [REDACTED]',
      '4:11 meetings[1].id: duplicate meeting id "a" (also meetings[0])',
    ]);
    const fixed = twice.replaceAll('url: ""', 'url: "", optional: true');
    expect(configProblems(fixed)).toEqual(['4:11 meetings[1].id: duplicate meeting id "a" (also meetings[0])']);
  });

  it('refuses a placeholder or short token, admin token or stream key on an address others can reach, naming the YAML path', () => {
    const exposed = `http: { host: 0.0.0.0, adminToken: demo-token }\nrtmp: { host: 0.0.0.0 }\nmeetings:\n  - id: a\n    source: { type: websocket, token: demo-token-change-me }\n    captions: [ { stdout: {} } ]\n  - id: b\n    source: { type: rtmp, streamKey: change-me-long-random }\n    captions: [ { stdout: {} } ]\n`;
    expect(configProblems(exposed)).toEqual([
      expect.stringMatching(/^1:\d+ http\.adminToken: the admin token is too weak for 0\.0\.0\.0, which other machines can reach: "demo-token" is a placeholder/),
      expect.stringMatching(/^5:\d+ meetings\[0\]\.source\.token: the ingest token is too weak .*"demo-token-change-me" is a placeholder/),
      expect.stringMatching(/^8:\d+ meetings\[1\]\.source\.streamKey: the stream key is too weak .*placeholder.* or listen on 127\.0\.0\.1$/),
    ]);
    // The quick start's loopback listener keeps its zero-config demo token.
    expect(configProblems(exposed.replaceAll('0.0.0.0', '127.0.0.1'))).toEqual([]);
    expect(configProblems(exposed.replace('demo-token-change-me', 'short-token'))).toContainEqual(expect.stringMatching(/shorter than 16 characters/));
  });

  it('takes a zoom-rtms source by meeting or webinar id, and only with a Zoom app that receives webhooks', () => {
    const rtms = (source: string, zoomApi = ''): string[] =>
      configProblems(`${zoomApi}meetings:\n  - id: a\n    source: ${source}\n    captions: [ { stdout: {} } ]\n`);
    const app = 'zoomApi: { accountId: a, clientId: b, clientSecret: c, webhookSecret: wHsEcReT-Zoom-0123456789 }\n';
    expect(rtms('{ type: zoom-rtms, meetingId: "123456789" }', app)).toEqual([]);
    expect(rtms('{ type: zoom-rtms, webinarId: 987654321 }', app)).toEqual([]);
    expect(rtms('{ type: zoom-rtms }', app)).toEqual(['4:13 meetings[0].source: zoom-rtms needs exactly one of meetingId, webinarId']);
    expect(rtms('{ type: zoom-rtms, meetingId: "123456789" }')).toEqual([
      expect.stringMatching(/^3:21 meetings\[0\]\.source\.type: meetings\[0\] \(zoom-rtms\) needs a zoomApi section .*: the app's Client ID and Client secret, which sign the RTMS handshake/),
    ]);
  });

  it("engine zoom-transcript reads Zoom's transcript over RTMS: any other source, or a language Zoom's transcript lacks, is refused", () => {
    const app = 'zoomApi: { accountId: a, clientId: b, clientSecret: c, webhookSecret: wHsEcReT-Zoom-0123456789 }\n';
    const meeting = (source: string, asr: string): string[] => configProblems(`${app}meetings:\n  - id: a\n    source: ${source}\n    asr: ${asr}\n    captions: [ { stdout: {} } ]\n`);
    const rtms = '{ type: zoom-rtms, meetingId: "123456789" }';
    expect(meeting(rtms, '{ engine: zoom-transcript }')).toEqual([]);
    expect(meeting(rtms, '{ engine: deepgram, apiKey: k, fallback: [ { engine: zoom-transcript, language: pt-BR } ] }')).toEqual([]);
    expect(meeting('{ type: websocket, token: a-long-random-ingest-token-0123 }', '{ engine: zoom-transcript }')).toEqual([
      "5:20 meetings[0].asr.engine: zoom-transcript reads the transcript Zoom sends over RTMS: this meeting's source is websocket",
    ]);
    expect(meeting(rtms, '{ engine: zoom-transcript, language: sw }')).toEqual([expect.stringMatching(/^5:\d+ meetings\[0\]\.asr\.language: Zoom's transcript has no sw; it has ar, bn, /)]);
    expect(configProblems(`${app}accountMeetings: { source: { type: zoom-livestream, rtmpUrl: "rtmp://bridge.example.com/live" }, asr: { engine: zoom-transcript } }\nrtmp: { host: 127.0.0.1 }\n`)).toEqual([
      expect.stringMatching(/accountMeetings\.asr\.engine: zoom-transcript reads the transcript Zoom sends over RTMS: it needs source type zoom-rtms/),
    ]);
  });

  it("the two apps Zoom issues: the RTMS General app signs the handshake and its webhooks, the Server-to-Server app's API fetches Caption URLs", () => {
    const account = (apps: string): string[] => configProblems(`${apps}accountMeetings: { source: { type: zoom-rtms } }\n`);
    const s2s = 'zoomApi: { accountId: acct, clientId: s2s-id, clientSecret: s2s-secret }\n';
    const general = 'rtmsApp: { clientId: general-id, clientSecret: general-secret, webhookSecret: rTmS-Secret-Token-0123456789 }\n';
    expect(account(s2s + general)).toEqual([]);
    // Without the General app, the Server-to-Server app must do it all (one app, where Zoom allows it).
    expect(account(s2s)).toEqual([expect.stringMatching(/zoomApi\.webhookSecret is empty \(set ZOOM_WEBHOOK_SECRET\): accountMeetings needs it, the Secret Token Zoom signs that app's webhooks with/)]);
    // Without the Server-to-Server app, no Caption URL can be fetched.
    expect(account(general)).toEqual([expect.stringMatching(/^\d+:\d+ accountMeetings: accountMeetings needs a zoomApi section .*for the account's API \(Caption URLs\)/)]);
    // The shipped fleet Secret left as it is: every empty value named with its variable, and the placeholder refused.
    const shipped = 'zoomApi: { accountId: "", clientId: "", clientSecret: "", webhookSecret: change-me-long-random }\n';
    expect(account(shipped)).toEqual([
      expect.stringMatching(/zoomApi\.accountId: zoomApi\.accountId is empty \(set ZOOM_ACCOUNT_ID\): accountMeetings needs it/),
      expect.stringMatching(/zoomApi\.clientId: zoomApi\.clientId is empty \(set ZOOM_CLIENT_ID\)/),
      expect.stringMatching(/zoomApi\.clientSecret: zoomApi\.clientSecret is empty \(set ZOOM_CLIENT_SECRET\)/),
      expect.stringMatching(/zoomApi\.webhookSecret: zoomApi\.webhookSecret is not a Secret Token \("change-me-long-random" is a placeholder from the examples\)/),
    ]);
    // A General app whose secret was left blank.
    expect(account(s2s + general.replace('general-secret', '""'))).toEqual([expect.stringMatching(/rtmsApp\.clientSecret is empty \(set ZOOM_RTMS_CLIENT_SECRET\): accountMeetings needs it, the RTMS \(General\) app's Client ID and Client secret/)]);
    // A placeholder webhook secret is refused even where no feature needs webhooks yet: the endpoint is on with it.
    expect(configProblems(`zoomApi: { accountId: a, clientId: b, clientSecret: c, webhookSecret: change-me }\nmeetings:\n  - { id: a, source: { type: websocket, token: ingest-token-0123456789 }, captions: [ { stdout: {} } ] }\n`)).toEqual([
      expect.stringMatching(/zoomApi\.webhookSecret is not a Secret Token \("change-me" is a placeholder from the examples\): copy the app's Secret Token/),
    ]);
  });

  it('a caption page needs its own viewer token (not the ingest or admin token), or says it is public', () => {
    const page = (entry: string): string[] =>
      configProblems(`http: { adminToken: admin-token-0123456789 }\nmeetings:\n  - id: a\n    source: { type: websocket, token: ingest-token-0123456789 }\n    captions: [ { page: ${entry} } ]\n`);
    expect(page('{ token: viewer-token-0123456789 }')).toEqual([]);
    expect(page('{ public: true }')).toEqual([]);
    expect(page('{}')).toEqual(['5:25 meetings[0].captions[0].page: a caption page needs a viewer token, or public: true']);
    expect(page('{ token: ingest-token-0123456789 }')).toEqual([
      '5:34 meetings[0].captions[0].page.token: the viewer token must differ from the ingest token of meetings[0] (readers would be able to publish audio)',
    ]);
    expect(page('{ token: admin-token-0123456789 }')).toEqual(['5:34 meetings[0].captions[0].page.token: the viewer token must differ from http.adminToken (readers would be able to steer the bridge)']);
  });

  it('a viewer token opens no other meeting\'s ingest, signs no webhook, and readers fit the process\'s budget', () => {
    const zoomApi = 'zoomApi: { accountId: a, clientId: c, clientSecret: client-secret-0123456789, webhookSecret: webhook-secret-0123456789 }';
    const config = (viewer: string, extra = ''): string[] =>
      configProblems(
        `http: { maxReaders: 100 }\n${zoomApi}\n${extra}meetings:\n  - { id: a, source: { type: websocket, token: ingest-a-0123456789 }, captions: [ { page: ${viewer} } ] }\n  - { id: b, source: { type: websocket, token: ingest-b-0123456789 }, captions: [ { stdout: {} } ] }\n`,
      );
    expect(config('{ token: viewer-token-0123456789, maxReaders: 50 }')).toEqual([]);
    expect(config('{ token: ingest-b-0123456789, maxReaders: 50 }')).toEqual([
      '4:100 meetings[0].captions[0].page.token: the viewer token must differ from the ingest token of meetings[1] (readers would be able to publish audio)',
    ]);
    expect(config('{ token: webhook-secret-0123456789, maxReaders: 50 }')).toEqual([
      '4:100 meetings[0].captions[0].page.token: the viewer token must differ from zoomApi.webhookSecret (readers would be able to sign Zoom webhooks)',
    ]);
    expect(config('{ token: viewer-token-0123456789, maxReaders: 500 }')).toEqual([
      "4:137 meetings[0].captions[0].page.maxReaders: more than the process serves (http.maxReaders: 100); raise that, or lower this",
    ]);
  });

  it('sends the Zoom app\'s secrets over https only, except to this machine', () => {
    const zoomApi = (bases: string): string[] =>
      configProblems(`http: { host: 127.0.0.1 }\nzoomApi: { accountId: a, clientId: c, clientSecret: s, ${bases} }\nmeetings:\n  - { id: a, source: { type: websocket, token: ingest-token-0123456789 }, captions: [ { stdout: {} } ] }\n`);
    expect(zoomApi('apiBase: "http://127.0.0.1:9000/v2", oauthBase: "http://localhost:9000"')).toEqual([]);
    expect(zoomApi('apiBase: "http://api.example.org/v2", oauthBase: "http://zoom.example.org"')).toEqual([
      expect.stringMatching(/zoomApi\.apiBase: must be https:\/\//),
      expect.stringMatching(/zoomApi\.oauthBase: must be https:\/\//),
    ]);
  });

  it('bounds what a config may cost to read: its size, the environment it expands to, and a key written twice', () => {
    const meeting = 'meetings:\n  - { id: a, source: { type: websocket, token: ingest-token-0123456789 }, captions: [ { stdout: {} } ] }\n';
    expect(configProblems(`${meeting}x: 1\ny: 2\nx: 3\n`)).toEqual(['5:1 : YAML syntax: map keys must be unique ("x" is written twice)']);
    const tooBig = configProblems(`${meeting}${'# padding to make the file large\n'.repeat(9_000)}`);
    expect(tooBig).toEqual([expect.stringMatching(/: the config is 2\d\d KiB, more than the 256 KiB a config may be/)]);
    const expanded = configProblems(`${meeting}big: [${Array.from({ length: 20 }, () => '"${BIG}"').join(', ')}]\n`, { BIG: 'b'.repeat(100_000) });
    expect(expanded[0]).toMatch(/big\[10\]: the environment's values make the config larger than 1024 KiB \(\$\{BIG\} here\)/);
  });

  it('does not print an unknown engine value that looks like a key', () => {
    const engine = (value: string): string => configProblems(`meetings:\n  - { id: a, source: { type: websocket, token: t }, asr: { engine: "${value}" }, captions: [ { stdout: {} } ] }\n`).join('\n');
    expect(engine('whisper')).toContain('unknown engine "whisper"');
    const key = 'sk-proj-AbCdEf0123456789AbCdEf0123456789';
    expect(engine(key)).toContain('unknown engine (the value is not shown');
    expect(engine(key)).not.toContain(key);
  });

  it('never prints a caption URL signature in a problem', () => {
    const found = configProblems(minimal('[ { zoom: { url: "ftp://zoom.us/cc?signature=TOPSECRET" } } ]'), { INGEST_TOKEN: 't' });
    expect(found.join('\n')).not.toContain('TOPSECRET');
  });
});

describe('caption-bridge --check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-check-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts the shipped quick-start config with no environment set', () => {
    const run = spawnSync(process.execPath, [CLI, '--check', '--config', SHIPPED], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('OK (1 meeting)');
    expect(run.status).toBe(0);
  });

  it('prints each problem with file, line and YAML path, and exits non-zero', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, minimal('[]'));
    const run = spawnSync(process.execPath, [CLI, '--check', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}:5:14 meetings[0].source.token: environment variable INGEST_TOKEN is not set`);
    expect(run.stderr).toContain(`${file}:6:15 meetings[0].captions: at least one caption destination`);
  });

  it('points at the line of a YAML syntax error and explains the ${VAR}-in-braces trap', async () => {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, 'meetings:\n  - source: { token: ${T} }\n');
    const run = spawnSync(process.execPath, [CLI, '--check', '--config', file], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`${file}:2:\\d+ .*YAML syntax.*quote values that use`));
  });

  it('says what a fleet needs and warns of what it cannot do: a lease too short for an etcd election, a live-stream meeting', async () => {
    const file = join(dir, 'fleet.yaml');
    await writeFile(
      file,
      `fleet: { etcd: { endpoints: "http://etcd-0:2379,http://etcd-1:2379" }, name: bridge-a, leaseSeconds: 2 }
zoomApi: { accountId: a, clientId: c, clientSecret: s, webhookSecret: wHsEcReT-Zoom-0123456789 }
rtmp: { port: 1935 }
meetings:
  - id: town-hall
    source: { type: zoom-livestream, meetingId: "812345678", rtmpUrl: "rtmp://captions.example.org/live" }
    captions: [ { zoom: { meetingId: "812345678" } } ]
`,
    );
    const run = spawnSync(process.execPath, [CLI, '--check', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('info: fleet: every process gets this same config (only fleet.name, bridge-a, differs); etcd at http://etcd-0:2379, http://etcd-1:2379 under /caption-bridge/');
    expect(run.stdout).toContain('stops posting 1.5 s after its last renewal, and its meetings move after 2 s');
    expect(run.stdout).toContain('warning: fleet.leaseSeconds: 2 s may not outlast an etcd leader election');
    expect(run.stdout).toContain('warning: meetings[0].source: zoom-livestream is not taken across a fleet');
  });

  it('reports a missing config file clearly', () => {
    const run = spawnSync(process.execPath, [CLI, '--check', '--config', join(dir, 'nope.yaml')], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('cannot read config');
  });
});
