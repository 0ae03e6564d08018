import { captionUrlExpiry } from '../caption/caption-url.js';
import { errorMessage, isBridgeError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { networkProblem } from '../util/network-problem.js';
import { featureOf, type ApiFeature, type ZoomApiClient } from './client.js';
import { describeTarget, type ZoomKind, type ZoomTarget } from './target.js';
import { EVENT_SUBSCRIPTIONS, rtmsAudioScope } from './webhook.js';

/** One line of the doctor's report: `ok`, `fix` (the user must change something), or `unknown` (could not look). */
export interface Finding {
  verdict: 'ok' | 'fix' | 'unknown';
  text: string;
}

export interface DoctorReport {
  findings: Finding[];
  /** The redacted Caption URL, when Zoom gave one. */
  captionUrl?: string;
  /** What the host still has to do in the meeting: the API cannot see or change it. */
  hostSteps: string[];
  /** The checks stopped at a problem every later one depends on (Zoom unreachable, credentials refused). */
  stopped?: boolean;
}

interface AccountSettings {
  in_meeting?: { closed_caption?: boolean; closed_captioning?: { enable?: boolean; third_party_captioning_service?: boolean } };
}

/**
 * Checks everything the bridge needs from Zoom for one meeting or webinar, in the order a person fixes them:
 * credentials, scopes, account settings, the meeting, the Caption URL. It reads only; it posts no caption (a POST
 * would show text to the participants).
 */
export async function diagnose(client: ZoomApiClient, target: ZoomTarget | 'account', source?: 'zoom-rtms' | 'zoom-livestream'): Promise<DoctorReport> {
  // The account as a whole (accountMeetings): what every meeting will need, read without naming one.
  const account = target === 'account';
  // The account's checks are the meeting ones (webinars need the same, under webinar scopes).
  const kind: ZoomKind = account ? 'meeting' : target.kind;
  const what = account ? 'the account' : describeTarget(target);
  const findings: Finding[] = [];
  const hostSteps = account ? [...ACCOUNT_STEPS[source ?? 'zoom-rtms'], ...HOST_STEPS.slice(1)] : [...HOST_STEPS, ...(source ? SOURCE_HOST_STEPS[source] : [])];
  const report: DoctorReport = { findings, hostSteps };
  const say = (verdict: Finding['verdict'], text: string): void => void findings.push({ verdict, text });

  try {
    await client.accessToken();
    say('ok', `the app's credentials work (${client.edition === 'master' ? 'master-account edition, sub-account calls' : 'ordinary account'})`);
  } catch (err) {
    const message = errorMessage(err);
    const network = networkProblem(message);
    say('fix', network === message ? message : `cannot reach Zoom from here: ${network}`);
    return { ...report, stopped: true };
  }

  const tokenFeature = featureOf(kind, 'CaptionToken');
  const granted = await client.grantedScopes();
  const has = (feature: ApiFeature): boolean | undefined => (granted ? client.scopesFor(feature).some((s) => granted.includes(s)) : undefined);
  const [needed, classic] = client.scopesFor(tokenFeature);
  if (granted === undefined) say('unknown', `Zoom did not list the app's scopes; the caption token needs ${needed} (or ${classic})`);
  else if (has(tokenFeature)) say('ok', `the app has a scope for the caption token (${needed} or ${classic})`);
  else say('fix', `the app lacks the scope for the caption token: add ${needed} (or the classic ${classic}) to the app in the Zoom App Marketplace (Manage > your app > Scopes)`);

  try {
    const settings = await client.get<AccountSettings>('/settings', { feature: 'accountSettings', what: 'the account settings', ofAccount: true });
    const inMeeting = settings.in_meeting ?? {};
    const captions = inMeeting.closed_captioning?.enable ?? inMeeting.closed_caption;
    const thirdParty = inMeeting.closed_captioning?.third_party_captioning_service;
    if (captions === false) say('fix', 'the account has "Closed captioning" off: Account Settings > Meeting > In Meeting (Advanced) in the Zoom web portal');
    else if (thirdParty === false) say('fix', 'the account does not allow the caption API token: turn on "Allow use of caption API Token to integrate with 3rd-party Closed Captioning services" (Account Settings > Meeting > In Meeting (Advanced))');
    else if (captions === true && thirdParty === true) say('ok', 'the account allows closed captioning through the caption API token');
    else say('unknown', 'the account settings do not say whether the caption API token is allowed: check "Allow use of caption API Token ..." in Account Settings > Meeting > In Meeting (Advanced)');
  } catch (err) {
    if (isBridgeError(err, 'ZOOM_API_SCOPE_MISSING')) {
      const [scope] = client.scopesFor('accountSettings');
      say('unknown', `could not read the account settings (optional scope ${scope} lets this check see them); check "Closed captioning" and "Allow use of caption API Token ..." by hand`);
    } else say('fix', errorMessage(err));
  }

  const detailsFeature = featureOf(kind, 'Details');
  if (account) {
    // accountMeetings' hosts and topic filters read each meeting; without this scope such meetings are left alone.
    const [detailsScope, detailsClassic] = client.scopesFor(detailsFeature);
    if (granted === undefined) say('unknown', `Zoom did not list the app's scopes; accountMeetings.hosts or .topic need ${detailsScope} (or ${detailsClassic})`);
    else if (has(detailsFeature)) say('ok', `the app may read a meeting's host and topic for accountMeetings.hosts / .topic (${detailsScope} or ${detailsClassic})`);
    else say('fix', `the app cannot read a meeting's host and topic: add ${detailsScope} (or the classic ${detailsClassic}) if accountMeetings filters by hosts or topic`);
  }
  if (account || source === 'zoom-rtms') {
    say(
      'unknown',
      `Realtime Media Streams cannot be checked without starting one (this checks the Server-to-Server app): the app that has RTMS (a General app, rtmsApp in the config) needs the scope ${rtmsAudioScope(kind)}, the event subscriptions ${[...EVENT_SUBSCRIPTIONS.rtmsStream(kind), ...EVENT_SUBSCRIPTIONS.meetingLife(kind)].join(', ')} sent to https://<bridge>/zoom/webhook, and auto-start (or a person) in each meeting`,
    );
  }
  if (account) return report;
  try {
    const details = await client.details(target);
    say('ok', `${what} exists${details.topic ? ` ("${details.topic}")` : ''}${details.status ? `, status ${details.status}` : ''}`);
  } catch (err) {
    if (isBridgeError(err, 'ZOOM_API_SCOPE_MISSING')) say('unknown', `could not read ${what} itself (optional scope ${client.scopesFor(detailsFeature)[0]}); the caption token check below still tells`);
    else say('fix', errorMessage(err));
  }

  if (source === 'zoom-livestream') {
    const feature = featureOf(kind, 'Livestream');
    const [settingsScope, statusScope, classicScope] = client.scopesFor(feature);
    const wanted = `${settingsScope} and ${statusScope} (or the classic ${classicScope})`;
    if (granted === undefined) say('unknown', `Zoom did not list the app's scopes; a live stream to the bridge needs ${wanted}`);
    else if ([settingsScope, statusScope].every((s) => granted.includes(s!)) || granted.includes(classicScope!)) say('ok', `the app may set and start ${what}'s live stream (${wanted})`);
    else say('fix', `the app lacks the live stream scopes: add ${wanted} to the app in the Zoom App Marketplace (Manage > your app > Scopes)`);
    say('unknown', 'whether the account allows custom live streaming is not in the API\'s settings answer: check "Allow livestreaming of meetings" with "Custom Live Streaming Service" (Settings > Meeting > In Meeting (Advanced)); the host needs a Pro or higher licence');
  }

  try {
    const issuedAt = Date.now();
    const raw = await client.captionUrl(target);
    const expiresAt = captionUrlExpiry(raw, issuedAt);
    report.captionUrl = redactUrl(raw);
    say('ok', `Zoom gave the Caption URL ${report.captionUrl}${expiresAt === undefined ? '' : `, valid until ${new Date(expiresAt).toISOString()}`}`);
  } catch (err) {
    say(isBridgeError(err, 'ZOOM_MEETING_NOT_STARTED') ? 'unknown' : 'fix', errorMessage(err));
  }
  return report;
}

const HOST_STEPS = [
  'Start the meeting (the Caption URL exists only while it runs).',
  'In the meeting, the host (or a co-host) opens Captions (CC) > "Set up manual captioner" and turns on "Use a 3rd-party CC service"; the bridge already has the token, so nothing needs copying. Until then Zoom does not show the captions.',
  'Each participant who wants captions clicks Captions (CC) > "Show captions"; "View full transcript" shows every caption posted so far.',
];

/** For every meeting of the account (accountMeetings): what the account and its hosts do once. */
const ACCOUNT_STEPS: Record<'zoom-rtms' | 'zoom-livestream', string[]> = {
  'zoom-rtms': [
    'Let the app start in every meeting to caption: the account\'s auto-start setting for the app (or the host starting it from Apps); Zoom then announces each stream (meeting.rtms_started) and the bridge takes the meetings accountMeetings names.',
  ],
  'zoom-livestream': ['Allow custom live streaming for the account and its hosts (a Pro or higher licence): the bridge starts each meeting\'s live stream when it starts.'],
};

const SOURCE_HOST_STEPS: Record<'zoom-rtms' | 'zoom-livestream', string[]> = {
  'zoom-rtms': ['Start the app in the meeting (Apps > the app), or let an auto-start setting do it: Zoom then announces the stream to the bridge (meeting.rtms_started).'],
  'zoom-livestream': ['Nothing to start by hand: the bridge starts the live stream when the meeting starts; participants see that the meeting is being live streamed.'],
};

export function formatReport(report: DoctorReport): string {
  const mark = { ok: 'ok  ', fix: 'FIX ', unknown: '??  ' };
  const lines = report.findings.map((f) => `${mark[f.verdict]}${f.text}`);
  if (report.stopped) lines.push('', 'Nothing else was checked: fix the line above, then run this again.');
  else lines.push('', 'Then, in Zoom:', ...report.hostSteps.map((step, i) => `  ${i + 1}. ${step}`));
  return `${lines.join('\n')}\n`;
}
