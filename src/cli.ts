#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, formatProblem, loadConfig, loadConfigOffThread } from './config/load.js';
import { startDaemon } from './daemon.js';
import { BridgeError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { POST_GIVE_UP_AFTER_MS, postLines } from './post.js';
import { installFailurePolicy } from './process-policy.js';
import { useEnvironmentProxy } from './util/proxy.js';
import { ProcessLoadMonitor } from './control/capacity.js';
import { describeScopes, featureOf, ZOOM_API_BASE, ZOOM_OAUTH_BASE, ZoomApiClient } from './zoom-api/client.js';
import { targetOf } from './zoom-api/target.js';
import { EVENT_SUBSCRIPTIONS, rtmsAudioScope } from './zoom-api/webhook.js';
import { diagnose, formatReport } from './zoom-api/doctor.js';

const USAGE = `caption-bridge: live speech to Zoom captions

Usage:
  caption-bridge [--config FILE]                 run the daemon (default config/caption-bridge.yaml)
  caption-bridge --check --config FILE           validate the config, print every problem with its YAML path
  caption-bridge post [--url CAPTION_URL] [--lang en-US] [--state-dir DIR] [--give-up-after 120]
                                                 post each line of stdin as one caption (the URL from
                                                 ZOOM_CAPTION_URL by preference: argv shows in ps); lines
                                                 wait for Zoom until it has accepted nothing for
                                                 --give-up-after seconds
  caption-bridge engines --check [--config FILE]  a short real session with every configured engine and
                                                 fallback (keys from the environment): reached, key and
                                                 model accepted, the words heard, time to first interim
                                                 and final; exit 1 if any fails
  caption-bridge zoom-url --meeting ID | --webinar ID | --account [--sub-account ID] [--source zoom-rtms|zoom-livestream]
                                                 check the Zoom app (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID,
                                                 ZOOM_CLIENT_SECRET): credentials, scopes, account settings,
                                                 the meeting, its Caption URL (printed redacted), and what
                                                 the host still has to do; with --source, what that audio
                                                 source needs too; posts nothing, starts nothing
`;

const DEFAULT_CONFIG = 'config/caption-bridge.yaml';

/** The outbound proxy the environment names, for every command that reaches a network (undefined: none). */
const PROXY = useEnvironmentProxy();

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'post') return post(argv.slice(1));
  if (argv[0] === 'zoom-url') return zoomUrl(argv.slice(1));
  if (argv[0] === 'engines') return engines(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.check) return check(values.config);
  return run(values.config);
}

function check(file: string): number {
  try {
    const config = loadConfig(file);
    process.stdout.write(`${file}: OK (${config.meetings.length} meeting${config.meetings.length === 1 ? '' : 's'})\n`);
    const edition = config.zoomApi?.subAccountId ? 'master' : 'ordinary';
    const rtmsApp = config.rtmsApp ? 'the RTMS app (rtmsApp, a General app)' : 'the Zoom app (zoomApi)';
    if (config.accountMeetings?.source.type === 'zoom-rtms') {
      const { hosts, topic } = config.accountMeetings;
      process.stdout.write(
        `info: accountMeetings needs: Realtime Media Streams in ${rtmsApp} with the scope ${rtmsAudioScope('meeting')}, started for every ` +
          `meeting to caption (the auto-start setting for that app, or a person); event subscriptions ${[...EVENT_SUBSCRIPTIONS.rtmsStream('meeting'), ...EVENT_SUBSCRIPTIONS.meetingLife('meeting')].join(', ')} in the same app ` +
          `(webinar.* for webinars), sent to https://<this host>/zoom/webhook; the scopes ${describeScopes('meetingCaptionToken', edition)}` +
          `${hosts || topic !== undefined ? ` and ${describeScopes('meetingDetails', edition)} (to read a meeting's host and topic)` : ''} in the Server-to-Server app (zoomApi)\n`,
      );
    }
    config.meetings.forEach((meeting, m) => {
      if (meeting.source.type !== 'zoom-livestream') return;
      const { kind } = targetOf(meeting.source)!;
      process.stdout.write(
        `info: meetings[${m}].source: zoom-livestream needs, in the Zoom app: the scopes ${describeScopes(featureOf(kind, 'Livestream'), edition)}; ` +
          `the ${EVENT_SUBSCRIPTIONS.livestream(kind).join(' and ')} event subscriptions; custom live streaming ` +
          `allowed for the account; and ${meeting.source.rtmpUrl} reachable from Zoom's cloud (it is this bridge's RTMP listener)\n`,
      );
    });
    config.meetings.forEach((meeting, m) => {
      if (meeting.source.type !== 'zoom-rtms') return;
      const { kind } = targetOf(meeting.source)!;
      process.stdout.write(
        `info: meetings[${m}].source: zoom-rtms needs: Realtime Media Streams in ${rtmsApp} with the scope ${rtmsAudioScope(kind)}; ` +
          `event subscriptions ${[...EVENT_SUBSCRIPTIONS.rtmsStream(kind), `${kind}.started`].join(', ')} in the same app, sent to https://<this host>/zoom/webhook; the scope ` +
          `${describeScopes(featureOf(kind, 'Details'), edition)} in the Server-to-Server app (to tell which meeting a stream belongs to); ` +
          'and the host (or an auto-start setting) starting the app in the meeting\n',
      );
    });
    if (config.fleet) {
      const { etcd, leaseSeconds, name } = config.fleet;
      process.stdout.write(
        `info: fleet: every process gets this same config (only fleet.name, ${name}, differs); etcd at ${etcd.endpoints.join(', ')} under ${etcd.prefix}; ` +
          `a process that cannot reach etcd stops posting ${leaseSeconds - Math.min(leaseSeconds / 4, 0.5)} s after its last renewal, and its meetings ` +
          `move after ${leaseSeconds} s; Zoom's webhooks and the publishers of pushed audio may reach any process
`,
      );
      if (leaseSeconds < 3) {
        process.stdout.write(`warning: fleet.leaseSeconds: ${leaseSeconds} s may not outlast an etcd leader election (1-2.5 s measured): every process would stop its meetings and the fleet move them
`);
      }
      const livestreams = [
        ...config.meetings.flatMap((meeting, m) => (meeting.source.type === 'zoom-livestream' ? [`meetings[${m}].source`] : [])),
        ...(config.accountMeetings?.source.type === 'zoom-livestream' ? ['accountMeetings.source'] : []),
      ];
      for (const path of livestreams) {
        process.stdout.write(`warning: ${path}: zoom-livestream is not taken across a fleet (the stream key is the owner's, Zoom pushes to the URL it was given); use zoom-rtms, or one process without fleet:
`);
      }
    }
    config.meetings.forEach((meeting, m) => {
      if (meeting.source.type !== 'zoom-videosdk') return;
      process.stdout.write(
        `info: meetings[${m}].source: zoom-videosdk needs, in the Video SDK app: Realtime Media Streams turned on for the Video SDK account; event ` +
          `subscriptions ${EVENT_SUBSCRIPTIONS.videoSdk(meeting.source.startRtms).join(', ')}, sent to https://<this host>/zoom/videosdk/webhook` +
          `${meeting.source.startRtms ? '; the bridge starts the RTMS app itself (Video SDK API, a JWT from videoSdk.key and videoSdk.secret)' : '; the app starts RTMS in the session itself (startRtms: false)'}` +
          '. A session has no Caption URL: its captions go to a page, a file, stdout and the archive\n',
      );
    });
    config.meetings.forEach((meeting, m) =>
      meeting.captions.forEach((destination, c) => {
        if (destination.zoom?.display !== 'rollup') return;
        process.stdout.write(
          `info: meetings[${m}].captions[${c}].zoom.display: rollup shows words sooner, but every line reaches Zoom's transcript twice ` +
            '(each POST is a transcript entry); blocks keeps the transcript clean\n',
        );
      }),
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) process.stderr.write(`${formatProblem(file, problem)}\n`);
      process.stderr.write(`${err.problems.length} problem(s) in ${file}\n`);
    } else {
      process.stderr.write(`${errorMessage(err)}\n`);
    }
    return 1;
  }
}

async function run(file: string): Promise<number> {
  let config;
  try {
    config = loadConfig(file);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 2;
  }
  const log = createLogger(config.log.level);
  installFailurePolicy(log);
  // The AWS and Google SDK engines do not take it from here: docs/engines.md says what each does with a proxy.
  if (PROXY) log.info({ proxy: PROXY }, 'outbound connections go through the proxy the environment names');
  const daemon = await startDaemon(config, log, {}, { load: new ProcessLoadMonitor().start() });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'signal received');
      // The stop is bounded piece by piece; this bounds whatever was missed (a peer that never answers, a child
      // that ignores its signal), so a stopped daemon always exits.
      const exitMs = daemon.stopDeadlineMs;
      setTimeout(() => {
        log.error({ afterMs: exitMs }, 'stop did not finish in time: exiting anyway');
        resolve();
      }, exitMs).unref();
      void daemon.stop().then(resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    // SIGHUP: re-read the config. A config that does not load is reported and the running one stays.
    // Read on a thread of its own, so a large file never holds up the captions; one reload at a time, the last asked wins.
    let reloading: Promise<void> | undefined;
    let again = false;
    const reload = (): void => {
      if (reloading) return void (again = true);
      reloading = loadConfigOffThread(file)
        .then(
          (next) => daemon.reload(next).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'config reload failed')),
          (err: unknown) => log.error({ err: errorMessage(err) }, 'config reload refused: the running config stays'),
        )
        .finally(() => {
          reloading = undefined;
          if (again) {
            again = false;
            reload();
          }
        });
    };
    process.on('SIGHUP', reload);
  });
  // Timers and sockets that a library keeps (keep-alive connections, a retry) must not keep a stopped daemon running.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  process.exit(0);
}

async function post(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      lang: { type: 'string', default: 'en-US' },
      'state-dir': { type: 'string', default: './state' },
      'log-level': { type: 'string', default: 'warn' },
      'give-up-after': { type: 'string', default: String(POST_GIVE_UP_AFTER_MS / 1000) },
    },
    strict: true,
  });
  const giveUpAfterSeconds = Number(values['give-up-after']);
  if (!(giveUpAfterSeconds > 0)) {
    process.stderr.write(`post --give-up-after takes a number of seconds\n\n${USAGE}`);
    return 2;
  }
  // From the environment by preference: a --url argument is visible to every user of the machine in `ps`.
  const url = values.url ?? (process.env.ZOOM_CAPTION_URL || undefined);
  if (!url) {
    process.stderr.write(`post needs the Caption URL: set ZOOM_CAPTION_URL (or pass --url)\n\n${USAGE}`);
    return 2;
  }
  const log = createLogger(values['log-level'] as 'warn');
  const { accepted, failed } = await postLines({ url, lang: values.lang, stateDir: values['state-dir'], input: process.stdin, giveUpAfterMs: giveUpAfterSeconds * 1000 }, log);
  process.stderr.write(`${accepted} caption(s) accepted, ${failed} never reached Zoom\n`);
  return failed === 0 ? 0 : 1;
}

/**
 * `engines --check`: before the meeting, a short real session with every configured engine and fallback (keys from
 * the environment), one line each; exit 1 if any fails, 2 for a config that does not load.
 */
async function engines(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG }, check: { type: 'boolean', default: false } }, strict: true });
  if (!values.check) {
    process.stderr.write(`engines takes --check (a short real session with each configured engine)\n\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(values.config);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    return 2;
  }
  const { checkEngine, configuredEngines, formatCheck } = await import('./asr/self-test.js');
  const sources = [
    ...config.meetings.map((m, i) => ({ where: `meetings[${i}].asr (${m.id})`, asr: m.asr })),
    ...(config.accountMeetings ? [{ where: 'accountMeetings.asr', asr: config.accountMeetings.asr }] : []),
  ];
  const found = configuredEngines(sources);
  // Keys never reach the output, even if a server echoes one back in its refusal.
  const secrets = found.flatMap(({ engine }) => (engine.apiKey ? [engine.apiKey] : []));
  const scrub = (line: string): string => secrets.reduce((text, secret) => text.split(secret).join('[REDACTED]'), line);
  process.stdout.write(`checking ${found.length} engine${found.length === 1 ? '' : 's'} with 8 s of speech (assets/self-test.wav)\n`);
  // At once (each takes the 8 s of speech in real time), printed in config order.
  const log = createLogger('silent');
  const results = await Promise.all(found.map(({ engine, phrases, where }) => checkEngine(engine, phrases, where, log)));
  for (const result of results) process.stdout.write(`${scrub(formatCheck(result))}\n`);
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(failed === 0 ? 'every engine answered\n' : `${failed} engine${failed === 1 ? '' : 's'} failed\n`);
  return failed === 0 ? 0 : 1;
}

async function zoomUrl(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { meeting: { type: 'string' }, webinar: { type: 'string' }, account: { type: 'boolean' }, 'sub-account': { type: 'string' }, source: { type: 'string' } },
    strict: true,
  });
  if ([values.meeting !== undefined, values.webinar !== undefined, values.account === true].filter(Boolean).length !== 1) {
    process.stderr.write(`zoom-url needs --meeting ID, --webinar ID or --account (what accountMeetings needs)\n\n${USAGE}`);
    return 2;
  }
  const source = values.source;
  if (source !== undefined && source !== 'zoom-rtms' && source !== 'zoom-livestream') {
    process.stderr.write(`zoom-url --source takes zoom-rtms or zoom-livestream\n\n${USAGE}`);
    return 2;
  }
  const env = process.env;
  const missing = ['ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'].filter((name) => !env[name]);
  if (missing.length > 0) {
    process.stderr.write(`zoom-url: set ${missing.join(', ')} (the Server-to-Server OAuth app's credentials)\n`);
    return 2;
  }
  const subAccountId = values['sub-account'] ?? (env.ZOOM_SUB_ACCOUNT_ID || undefined);
  const client = new ZoomApiClient(
    {
      accountId: env.ZOOM_ACCOUNT_ID!,
      clientId: env.ZOOM_CLIENT_ID!,
      clientSecret: env.ZOOM_CLIENT_SECRET!,
      apiBase: env.ZOOM_API_BASE ?? ZOOM_API_BASE,
      oauthBase: env.ZOOM_OAUTH_BASE ?? ZOOM_OAUTH_BASE,
      ...(subAccountId ? { subAccountId } : {}),
    },
    createLogger('silent'),
  );
  const target = values.account ? 'account' : values.meeting !== undefined ? { kind: 'meeting' as const, id: values.meeting } : { kind: 'webinar' as const, id: values.webinar! };
  const report = await diagnose(client, target, source);
  process.stdout.write(formatReport(report));
  // The account has no Caption URL of its own: it passes when nothing needs fixing.
  const fine = report.findings.every((f) => f.verdict !== 'fix');
  return fine && (target === 'account' || report.captionUrl !== undefined) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = err instanceof BridgeError ? ` [${err.code}]` : '';
    process.stderr.write(`caption-bridge: ${errorMessage(err)}${code}\n`);
    process.exitCode = err instanceof BridgeError && !err.retryable ? 2 : 1;
  },
);
