import { z } from 'zod';
import { asrOptions, zoomTranscriptEngine } from '../asr/options.js';
import { archiveOptions, captionDestination, DEFAULT_MAX_READERS } from '../caption/options.js';
import { displayOptions } from '../display/options.js';
import { fleetOptions } from '../control/fleet/options.js';
import { DEFAULT_DISPLAY_OPTIONS } from '../display/types.js';
import { sourceOptions } from '../ingest/options.js';
import { isAddressOrNetwork } from '../security/client-address.js';
import { isLoopback, weakSecret } from '../security/tokens.js';
import { segmenterOptions, textOptions } from '../segmenter/options.js';
import { port } from '../util/schema.js';
import { ZOOM_API_BASE, ZOOM_OAUTH_BASE } from '../zoom-api/client.js';
import { fieldsOf, targetOf, type ZoomTarget } from '../zoom-api/target.js';

/**
 * The whole config file: each feature owns the schema of its options (asr/options.ts, caption/options.ts, ...);
 * this file composes them and checks what spans features (credentials a destination needs, weak secrets on an
 * exposed port, duplicate ids and keys).
 */
/** How a meeting is captioned, whether it is listed or made at runtime from the account template. */
const captioningFields = {
  asr: asrOptions.default(asrOptions.parse({})),
  segmenter: segmenterOptions.default(segmenterOptions.parse({})),
  display: displayOptions.default(displayOptions.parse({})),
  text: textOptions.default(textOptions.parse({})),
  archive: archiveOptions,
};

/** The old segmenter layout keys still read (the display keys win). */
function withDisplayDefaults<T extends { segmenter: z.output<typeof segmenterOptions>; display: z.output<typeof displayOptions> }>({ segmenter, display: given, ...rest }: T) {
  const { stableMs, holdBackWords, ...legacy } = segmenter;
  return {
    ...rest,
    segmenter: { stableMs, holdBackWords },
    display: {
      ...given,
      maxLineChars: given.maxLineChars ?? legacy.maxLineChars ?? DEFAULT_DISPLAY_OPTIONS.maxLineChars,
      maxLines: given.maxLines ?? legacy.maxLines ?? DEFAULT_DISPLAY_OPTIONS.maxLines,
      rollupIntervalMs: given.rollupIntervalMs ?? legacy.minIntervalMs ?? DEFAULT_DISPLAY_OPTIONS.rollupIntervalMs,
    },
  };
}

const meeting = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9-]+$/, 'meeting id must be lower-case letters, digits and dashes (it appears in URLs)'),
    source: sourceOptions,
    ...captioningFields,
    captions: z.array(captionDestination).min(1, 'at least one caption destination'),
  })
  .transform(withDisplayDefaults);

/**
 * Every meeting and webinar of the account, captioned without an entry each. With RTMS (the default source),
 * rtms_started for a meeting that matches makes it at runtime (id zoom-<id>), with these settings and its Caption
 * URL from the Zoom API; rtms_stopped or meeting.ended removes it. For accounts without RTMS, the custom live
 * stream: meeting.started makes it and points its live stream at the bridge's RTMP listener. Listed meetings keep
 * their own settings.
 */
const accountMeetings = z
  .strictObject({
    /** How the audio comes: zoom-rtms (default), or zoom-livestream with the rtmpUrl Zoom's cloud pushes to. */
    source: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('zoom-rtms') }),
        z.strictObject({
          type: z.literal('zoom-livestream'),
          rtmpUrl: z.string().regex(/^rtmps?:\/\/[^/\s]+\/live$/, 'expected the address Zoom can reach, ending in /live: rtmp://captions.example.org:1935/live'),
          pageUrl: z.string().url().optional(),
        }),
      ])
      .default({ type: 'zoom-rtms' }),
    /** Only these meetings or webinars (ids); omitted: any. */
    ids: z.array(z.coerce.string().regex(/^\d{9,12}$/, 'a Zoom meeting or webinar id is 9 to 12 digits')).optional(),
    /** Only meetings these hosts hold (their email or Zoom user id); omitted: any host. */
    hosts: z.array(z.string().min(1)).optional(),
    /** Only meetings whose topic matches this regular expression (case-insensitive); omitted: any topic. */
    topic: z
      .string()
      .refine((pattern) => {
        try {
          new RegExp(pattern, 'i');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression')
      .optional(),
    /** At most this many at once here; a meeting beyond the cap is logged and left uncaptioned. */
    maxMeetings: z.number().int().min(1).max(1_000).default(20),
    /** How Zoom's caption box shows them: blocks (default) or rollup; the language told to Zoom. */
    zoomDisplay: z.enum(['blocks', 'rollup']).default('blocks'),
    lang: z.string().optional(),
    ...captioningFields,
  })
  .transform(withDisplayDefaults);

/** An app section's rtmsHosts (see zoomApi.rtmsHosts). */
const rtmsHosts = z.array(z.string().regex(/^[^\s/:]+$|^\[[0-9a-f:]+\]$/i, 'a host name or address, without scheme or port')).default([]);

const configObject = z
  .strictObject({
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
    http: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** Bearer token for /meetings and /metrics; an empty value (unset ${VAR:-}) leaves it off. */
        adminToken: z.string().optional().transform((token) => token || undefined),
        /**
         * A second port, on the same host, that serves GET /metrics alone with no token: for a scraper that cannot be
         * given the admin token (Prometheus pod annotations). Keep it inside the cluster.
         */
        metricsPort: port.optional(),
        /**
         * Proxies (addresses or CIDR networks) whose X-Forwarded-For names the client: an Ingress, a TLS terminator.
         * Failed-token throttling and the logs then see each client, not the proxy.
         */
        trustedProxies: z.array(z.string().refine(isAddressOrNetwork, 'expected an IP address or a network like 10.0.0.0/8')).default([]),
        /** Web origins (https://mixer.example) whose pages may stream into ingest; the bridge's own pages always may. */
        allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin like https://host or http://host:port')).default([]),
        /**
         * Caption page and feed readers the whole process serves at once, every meeting together: a budget of their
         * own, apart from the connections kept for ingest, webhooks, health and the console, which readers can never take.
         */
        maxReaders: z.number().int().min(1).max(50_000).default(DEFAULT_MAX_READERS),
      })
      .default({ host: '0.0.0.0', port: 8080, adminToken: undefined, trustedProxies: [], allowedOrigins: [], maxReaders: DEFAULT_MAX_READERS }),
    rtmp: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(1935) }).optional(),
    state: z.strictObject({ dir: z.string().default('./state') }).default({ dir: './state' }),
    /**
     * On SIGTERM, how long the last captions may take to reach Zoom before what is unsent is recorded as never
     * delivered. Keep it under the platform's grace (Kubernetes 30 s, Docker's --stop-timeout) by a few seconds.
     */
    shutdown: z.strictObject({ flushSeconds: z.number().min(0.5).max(300).default(10) }).default({ flushSeconds: 10 }),
    /**
     * A Zoom Server-to-Server OAuth app: the account-level API (Caption URLs for meetingId/webinarId and account
     * meetings, meeting reads, live streams) and its webhooks. Without rtmsApp, its client id and secret also sign
     * the RTMS handshake (where Zoom lets one app do both).
     */
    zoomApi: z
      .strictObject({
        accountId: z.string(),
        clientId: z.string(),
        clientSecret: z.string(),
        /** The app's webhook Secret Token; without it POST /zoom/webhook is off. */
        webhookSecret: z.string().optional(),
        /**
         * Only for an app of a Zoom master account captioning a sub-account's meetings: the sub-account's id. Every
         * call then uses the master-account edition (/accounts/{id}/..., :master scopes). Ordinary accounts omit it.
         */
        subAccountId: z.string().min(1, 'subAccountId is empty: omit it for an ordinary account').optional(),
        apiBase: z.string().url().default(ZOOM_API_BASE),
        oauthBase: z.string().url().default(ZOOM_OAUTH_BASE),
        /**
         * Hosts besides Zoom's own (wss:// on zoom.us) that RTMS server URLs may name, e.g. a stand-in for tests;
         * ws:// is dialled only for these. A webhook naming any other host is refused.
         */
        rtmsHosts,
      })
      .optional(),
    /**
     * The Zoom General app that has Realtime Media Streams (Zoom issues RTMS to General apps): its client id and
     * secret sign the RTMS handshake, and Zoom signs its RTMS webhooks with its own Secret Token. See docs/zoom.md.
     */
    rtmsApp: z
      .strictObject({
        clientId: z.string(),
        clientSecret: z.string(),
        webhookSecret: z.string(),
        /** As zoomApi.rtmsHosts: hosts besides Zoom's that RTMS server URLs may name (a stand-in). */
        rtmsHosts,
      })
      .optional(),
    accountMeetings: accountMeetings.optional(),
    /**
     * A Zoom Video SDK app, for zoom-videosdk sources: its SDK key and secret sign the RTMS handshake and the Video
     * SDK API's JWT; Zoom signs its session webhooks (/zoom/videosdk/webhook) with its webhook secret token.
     */
    videoSdk: z
      .strictObject({
        key: z.string().min(1, 'the Video SDK key is empty (set ZOOM_VIDEO_SDK_KEY)'),
        secret: z.string().min(1, 'the Video SDK secret is empty (set ZOOM_VIDEO_SDK_SECRET)'),
        webhookSecret: z.string().min(1, 'the Video SDK app\'s webhook secret token is empty'),
        apiBase: z.string().url().default(ZOOM_API_BASE),
        /** As zoomApi.rtmsHosts: hosts besides Zoom's that RTMS server URLs may name (a stand-in). */
        rtmsHosts,
      })
      .optional(),
    /** Several processes sharing the meetings through etcd (see docs/scale-out.md); omitted: this process runs them all. */
    fleet: fleetOptions.optional(),
    meetings: z.array(meeting).default([]),
  });

/** A problem one rule finds: the YAML path it concerns and what to change. */
interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

const RTMP_LISTENER_FIX = 'add rtmp: { port: 1935 } at the top level';
/** A port others can reach: a secret guarding it must not be an example's placeholder or short. */
const exposed = (host: string): string | undefined => (isLoopback(host) ? undefined : host);
function weak(path: (string | number)[], value: string | undefined, host: string | undefined, what: string): ConfigIssue[] {
  const why = value === undefined || host === undefined ? undefined : weakSecret(value);
  return why ? [{ path, message: `${what} is too weak for ${host}, which other machines can reach: ${why}. Use a long random value (openssl rand -hex 24), or listen on 127.0.0.1` }] : [];
}
/** Every viewer token of the config, with its path. */
const viewerTokens = (config: ParsedConfig): { path: (string | number)[]; token: string }[] =>
  config.meetings.flatMap((m, index) => m.captions.flatMap((destination, c) => (destination.page?.token === undefined ? [] : [{ path: ['meetings', index, 'captions', c, 'page', 'token'], token: destination.page.token }])));

/**
 * What one section cannot say alone: each rule reads the whole config and names the YAML path of each problem. Rules
 * are independent; every problem of every rule is reported at once.
 */
const CONFIG_RULES: Record<string, (config: ParsedConfig) => ConfigIssue[]> = {
  somethingToCaption: (config) =>
    config.meetings.length === 0 && !config.accountMeetings ? [{ path: ['meetings'], message: "at least one meeting (or accountMeetings, to caption the account's meetings as Zoom streams them)" }] : [],
  rtmpListenerForPushedAudio: (config) => {
    if (config.rtmp) return [];
    const issues: ConfigIssue[] = [];
    if (config.accountMeetings?.source.type === 'zoom-livestream') issues.push({ path: ['accountMeetings', 'source', 'type'], message: `zoom-livestream needs the RTMP listener Zoom pushes to: ${RTMP_LISTENER_FIX}` });
    config.meetings.forEach((m, index) => {
      const path = ['meetings', index, 'source', 'type'];
      if (m.source.type === 'zoom-livestream') issues.push({ path, message: `zoom-livestream needs the RTMP listener Zoom pushes to: ${RTMP_LISTENER_FIX}` });
      if (m.source.type === 'rtmp') issues.push({ path, message: `rtmp sources need the RTMP listener: ${RTMP_LISTENER_FIX}` });
    });
    return issues;
  },
  etcdPasswordWithItsUser: (config) =>
    config.fleet?.etcd.password && !config.fleet.etcd.username ? [{ path: ['fleet', 'etcd', 'password'], message: 'a password needs the username it belongs to (fleet.etcd.username)' }] : [],
  videoSdkSectionForSessions: (config) =>
    config.videoSdk
      ? []
      : config.meetings.flatMap((m, index) =>
          m.source.type === 'zoom-videosdk' ? [{ path: ['meetings', index, 'source', 'type'], message: "zoom-videosdk needs a videoSdk section with the Video SDK app's key, secret and webhookSecret" }] : [],
        ),
  zoomAppsForFeatures: zoomAppsNeeds,
  // Zoom's transcript comes over RTMS only: any other source would leave the engine with nothing to read.
  zoomTranscriptOverRtms: (config) => [
    ...(config.accountMeetings && zoomTranscriptEngine(config.accountMeetings.asr) && config.accountMeetings.source.type !== 'zoom-rtms'
      ? [{ path: ['accountMeetings', 'asr', 'engine'], message: 'zoom-transcript reads the transcript Zoom sends over RTMS: it needs source type zoom-rtms' }]
      : []),
    ...config.meetings.flatMap((m, index) =>
      zoomTranscriptEngine(m.asr) && m.source.type !== 'zoom-rtms' ? [{ path: ['meetings', index, 'asr', 'engine'], message: `zoom-transcript reads the transcript Zoom sends over RTMS: this meeting's source is ${m.source.type}` }] : [],
    ),
  ],
  strongSecretsOnReachablePorts: (config) => [
    ...weak(['http', 'adminToken'], config.http.adminToken, exposed(config.http.host), 'the admin token'),
    ...viewerTokens(config).flatMap(({ path, token }) => weak(path, token, exposed(config.http.host), 'the viewer token')),
    ...config.meetings.flatMap((m, index) => {
      if (m.source.type === 'websocket') return weak(['meetings', index, 'source', 'token'], m.source.token, exposed(config.http.host), 'the ingest token');
      if (m.source.type === 'rtmp' && config.rtmp) return weak(['meetings', index, 'source', 'streamKey'], m.source.streamKey, exposed(config.rtmp.host), 'the stream key');
      return [];
    }),
  ],
  // A viewer token is handed to readers: it must open the captions only, never any meeting's ingest, the console,
  // or a webhook signature (the Secret Token signs webhooks: a reader holding it could forge Zoom's events).
  viewerTokensOpenOnlyCaptions: (config) => {
    const secrets: { value: string | undefined; what: string }[] = [
      { value: config.http.adminToken, what: 'http.adminToken (readers would be able to steer the bridge)' },
      { value: config.zoomApi?.webhookSecret, what: 'zoomApi.webhookSecret (readers would be able to sign Zoom webhooks)' },
      { value: config.zoomApi?.clientSecret, what: "zoomApi.clientSecret (readers would hold the Zoom app's secret)" },
      { value: config.rtmsApp?.webhookSecret, what: 'rtmsApp.webhookSecret (readers would be able to sign RTMS webhooks)' },
      { value: config.rtmsApp?.clientSecret, what: "rtmsApp.clientSecret (readers would hold the RTMS app's secret)" },
      { value: config.videoSdk?.webhookSecret, what: 'videoSdk.webhookSecret (readers would be able to sign Video SDK webhooks)' },
      { value: config.videoSdk?.secret, what: "videoSdk.secret (readers would hold the Video SDK app's secret)" },
      ...config.meetings.map((m, index) => ({
        value: m.source.type === 'websocket' ? m.source.token : m.source.type === 'rtmp' ? m.source.streamKey : undefined,
        what: `the ${m.source.type === 'rtmp' ? 'stream key' : 'ingest token'} of meetings[${index}] (readers would be able to publish audio)`,
      })),
    ];
    return viewerTokens(config).flatMap(({ path, token }) =>
      secrets.filter((secret) => secret.value !== undefined && secret.value !== '' && token === secret.value).map((secret) => ({ path, message: `the viewer token must differ from ${secret.what}` })),
    );
  },
  // The OAuth call carries the client secret and every API call a bearer token: never over plain http, except to a
  // stand-in on this machine.
  noSecretsOverPlainHttp: (config) =>
    (
      [
        [['zoomApi', 'apiBase'], config.zoomApi?.apiBase],
        [['zoomApi', 'oauthBase'], config.zoomApi?.oauthBase],
        [['videoSdk', 'apiBase'], config.videoSdk?.apiBase],
      ] as const
    ).flatMap(([path, value]) => {
      const url = value !== undefined && URL.canParse(value) ? new URL(value) : undefined;
      const plain = url?.protocol === 'http:' && !isLoopback(url.hostname.replace(/^\[|\]$/g, ''));
      return plain ? [{ path: [...path], message: "must be https:// (it would carry the app's secret or access token unencrypted); http:// only to 127.0.0.1 or localhost" }] : [];
    }),
  pageReadersWithinTheProcess: (config) =>
    config.meetings.flatMap((m, index) =>
      m.captions.flatMap((destination, c) => {
        const wanted = destination.page?.maxReaders;
        return wanted !== undefined && wanted > config.http.maxReaders
          ? [{ path: ['meetings', index, 'captions', c, 'page', 'maxReaders'], message: `more than the process serves (http.maxReaders: ${config.http.maxReaders}); raise that, or lower this` }]
          : [];
      }),
    ),
  oneStreamKeyPerMeeting: (config) => {
    const first = new Map<string, number>();
    return config.meetings.flatMap((m, index) => {
      if (m.source.type !== 'rtmp') return [];
      const earlier = first.get(m.source.streamKey);
      first.set(m.source.streamKey, index);
      return earlier === undefined ? [] : [{ path: ['meetings', index, 'source', 'streamKey'], message: `the same stream key as meetings[${earlier}]: each meeting needs its own` }];
    });
  },
  uniqueMeetingIds: (config) => {
    const first = new Map<string, number>();
    return config.meetings.flatMap((m, index) => {
      const earlier = first.get(m.id);
      if (earlier === undefined) first.set(m.id, index);
      return earlier === undefined ? [] : [{ path: ['meetings', index, 'id'], message: `duplicate meeting id "${m.id}" (also meetings[${earlier}])` }];
    });
  },
};

export const configSchema = configObject.superRefine((config, ctx) => {
  for (const rule of Object.values(CONFIG_RULES)) for (const issue of rule(config)) ctx.addIssue({ code: 'custom', ...issue });
});

export type Config = z.infer<typeof configSchema>;
export type MeetingConfig = Config['meetings'][number];
export type AccountMeetingsConfig = NonNullable<Config['accountMeetings']>;

/** The id a runtime meeting gets: it appears in URLs, logs and metrics, so one Zoom meeting is always the same. */
export const runtimeMeetingId = (target: ZoomTarget): string => (target.kind === 'meeting' ? `zoom-${target.id}` : `zoom-webinar-${target.id}`);

/** The settings of a meeting made at runtime from the account template: audio from Zoom, captions to its Caption URL. */
/** The Zoom meetings and webinars a meeting listens to or captions: their webhooks concern it. */
export function zoomTargetsOf(meeting: MeetingConfig): ZoomTarget[] {
  const { source } = meeting;
  const fromSource = source.type === 'zoom-rtms' || source.type === 'zoom-livestream' ? [targetOf(source)] : [];
  return [...fromSource, ...meeting.captions.map((d) => (d.zoom ? targetOf(d.zoom) : undefined))].filter((t): t is ZoomTarget => t !== undefined);
}

/** The Zoom meeting or webinar whose RTMS stream a meeting takes, when its source is zoom-rtms. */
export function rtmsTargetOf(meeting: MeetingConfig): ZoomTarget | undefined {
  return meeting.source.type === 'zoom-rtms' ? targetOf(meeting.source) : undefined;
}

export function runtimeMeeting(template: AccountMeetingsConfig, target: ZoomTarget): MeetingConfig {
  const ids = fieldsOf(target);
  const { asr, segmenter, display, text, archive, zoomDisplay, lang } = template;
  return {
    id: runtimeMeetingId(target),
    source: sourceOptions.parse({ ...template.source, ...ids }),
    asr,
    segmenter,
    display,
    text,
    archive,
    captions: [captionDestination.parse({ zoom: { ...ids, display: zoomDisplay, ...(lang ? { lang } : {}) } })],
  };
}

type ParsedConfig = z.output<typeof configObject>;

/** The environment variable the shipped configs read a Zoom app's field from. */
const ZOOM_VARIABLES: Record<string, string> = {
  'zoomApi.accountId': 'ZOOM_ACCOUNT_ID',
  'zoomApi.clientId': 'ZOOM_CLIENT_ID',
  'zoomApi.clientSecret': 'ZOOM_CLIENT_SECRET',
  'zoomApi.webhookSecret': 'ZOOM_WEBHOOK_SECRET',
  'rtmsApp.clientId': 'ZOOM_RTMS_CLIENT_ID',
  'rtmsApp.clientSecret': 'ZOOM_RTMS_CLIENT_SECRET',
  'rtmsApp.webhookSecret': 'ZOOM_RTMS_WEBHOOK_SECRET',
};

/**
 * What each Zoom feature the config uses needs from which app, said once per missing field with the feature that
 * needs it: the Server-to-Server app's API credentials (Caption URLs by id, account meetings, live streams), the
 * credentials that sign RTMS handshakes (the RTMS app's, else the Server-to-Server app's), and the Secret Token of
 * the app whose webhooks drive a feature. An empty value (a Secret left blank) or an example's placeholder never
 * passes: Zoom would refuse every call, or the bridge every webhook, in the middle of the first meeting.
 */
function zoomAppsNeeds(config: ParsedConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const features: { path: (string | number)[]; what: string; rest?: boolean; rtms?: boolean; webhooks?: 'rtms' | 'api' }[] = [];
  if (config.accountMeetings) {
    const rtms = config.accountMeetings.source.type === 'zoom-rtms';
    features.push({ path: ['accountMeetings'], what: 'accountMeetings', rest: true, rtms, webhooks: rtms ? 'rtms' : 'api' });
  }
  config.meetings.forEach((m, index) => {
    if (m.source.type === 'zoom-rtms') features.push({ path: ['meetings', index, 'source', 'type'], what: `meetings[${index}] (zoom-rtms)`, rtms: true, webhooks: 'rtms' });
    if (m.source.type === 'zoom-livestream') features.push({ path: ['meetings', index, 'source', 'type'], what: `meetings[${index}] (zoom-livestream)`, rest: true, webhooks: 'api' });
    m.captions.forEach((destination, c) => {
      const key = destination.zoom?.meetingId !== undefined ? 'meetingId' : destination.zoom?.webinarId !== undefined ? 'webinarId' : undefined;
      if (key) features.push({ path: ['meetings', index, 'captions', c, 'zoom', key], what: `meetings[${index}]'s ${key}`, rest: true });
    });
  });
  const reported = new Set<string>();
  const need = (app: 'zoomApi' | 'rtmsApp', field: string, feature: (typeof features)[number], role: string): void => {
    const section = config[app] as Record<string, unknown> | undefined;
    const where = `${app}.${field}`;
    if (!section) {
      if (reported.has(`${app}:${feature.what}`)) return;
      reported.add(`${app}:${feature.what}`);
      const appName = app === 'zoomApi' ? "a zoomApi section (the Server-to-Server OAuth app's accountId, clientId, clientSecret and webhookSecret)" : 'an rtmsApp section';
      issues.push({ path: feature.path, message: `${feature.what} needs ${appName}: ${role} (see docs/zoom.md)` });
      return;
    }
    const value = section[field];
    if (typeof value === 'string' && value !== '' && !(field === 'webhookSecret' && weakSecret(value))) return;
    if (reported.has(where)) return;
    reported.add(where);
    const variable = ZOOM_VARIABLES[where];
    const why = typeof value === 'string' && value !== '' ? `is not a Secret Token (${weakSecret(value)})` : `is empty${variable ? ` (set ${variable})` : ''}`;
    issues.push({ path: [app, field], message: `${where} ${why}: ${feature.what} needs it, ${role}` });
  };
  for (const feature of features) {
    if (feature.rest) for (const field of ['accountId', 'clientId', 'clientSecret']) need('zoomApi', field, feature, "the Server-to-Server OAuth app's credentials, for the account's API (Caption URLs)");
    if (feature.rtms) {
      const app = config.rtmsApp ? 'rtmsApp' : 'zoomApi';
      const role = config.rtmsApp ? "the RTMS (General) app's Client ID and Client secret, which sign the RTMS handshake" : "the app's Client ID and Client secret, which sign the RTMS handshake (or an rtmsApp section for a separate General app)";
      for (const field of ['clientId', 'clientSecret']) need(app, field, feature, role);
    }
    if (feature.webhooks) {
      // RTMS events come from the app that has RTMS; meeting events (a live stream's start) from the Server-to-Server app.
      const app = feature.webhooks === 'rtms' && config.rtmsApp ? 'rtmsApp' : 'zoomApi';
      need(app, 'webhookSecret', feature, "the Secret Token Zoom signs that app's webhooks with (Marketplace: the app's Features > Access > Secret Token)");
    }
  }
  // A webhook secret nobody needs yet is still checked: the endpoint is on with it.
  for (const app of ['zoomApi', 'rtmsApp'] as const) {
    const secret = config[app]?.webhookSecret;
    if (secret !== undefined && secret !== '' && weakSecret(secret) && !reported.has(`${app}.webhookSecret`)) {
      issues.push({ path: [app, 'webhookSecret'], message: `${app}.webhookSecret is not a Secret Token (${weakSecret(secret)}): copy the app's Secret Token from the Zoom Marketplace (Features > Access)` });
    }
  }
  return issues;
}
