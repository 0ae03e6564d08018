import { BridgeError } from '../errors.js';
import { capitalize } from '../util/text.js';

/**
 * Zoom's refusals turned into one plain sentence each, saying what to change and where. The user reads these in
 * the log, in /meetings and from `caption-bridge zoom-url`; the error code stays stable for alerting.
 */

export interface ExplainContext {
  /** "meeting 123456789" */
  what: string;
  edition: 'ordinary' | 'master';
  /** The scopes the call needs: granular first, then the classic one. */
  scopes: readonly string[];
}

const CAPTION_SETTINGS =
  'in the Zoom web portal as an admin, Account Management > Account Settings > Meeting > In Meeting (Advanced), turn on ' +
  '"Closed captioning" and "Allow use of caption API Token to integrate with 3rd-party Closed Captioning services" ' +
  '(and unlock them if a group or user setting overrides the account)';

const APP_PAGE = 'in the Zoom App Marketplace (Manage > your Server-to-Server OAuth app)';

export function explainOAuthError(status: number, body: { reason?: string; error?: string }): BridgeError {
  const reason = `${body.reason ?? ''} ${body.error ?? ''}`.trim();
  const said = reason ? ` (Zoom said: ${reason})` : '';
  if (status >= 500 || status === 429) {
    return new BridgeError('ZOOM_API_UNAVAILABLE', `Zoom's OAuth service is not answering (HTTP ${status})${said}; the bridge will try again`);
  }
  if (/account/i.test(reason) && !/client/i.test(reason)) {
    return new BridgeError('ZOOM_API_AUTH', `Zoom does not accept the account id${said}: set ZOOM_ACCOUNT_ID to the Account ID shown on the app's App Credentials page ${APP_PAGE}`);
  }
  if (/disabled|deactivat|not activ/i.test(reason)) {
    return new BridgeError('ZOOM_API_AUTH', `The Zoom app is not activated${said}: activate it ${APP_PAGE}, on its Activation page`);
  }
  return new BridgeError(
    'ZOOM_API_AUTH',
    `Zoom does not accept the app's client id and secret (HTTP ${status})${said}: copy ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET again from the App Credentials page ${APP_PAGE}; ` +
      'a regenerated secret replaces the old one, and a deleted app needs a new one',
  );
}

export function explainApiError(status: number, body: { code?: number; message?: string }, context: ExplainContext): BridgeError {
  const { what, edition, scopes } = context;
  const message = (body.message ?? '').trim();
  const said = message ? ` (Zoom said: ${message})` : '';

  const missing = /does not contain scopes?:?\s*\[([^\]]*)\]/i.exec(message);
  if (missing || body.code === 4711) {
    const named = missing?.[1]?.trim() || scopes[0];
    return new BridgeError(
      'ZOOM_API_SCOPE_MISSING',
      `The Zoom app lacks a scope for ${what}: ${APP_PAGE}, Scopes > Add Scopes, add ${scopes[0]} (or the classic ${scopes[1]}); Zoom named ${named}. ` +
        'The bridge picks up the new scope with its next access token',
    );
  }
  if (/caption(ing)?\b.*(disabled|not enabled|turned off)|api token.*(disabled|not enabled)/i.test(message)) {
    return new BridgeError('ZOOM_CAPTION_API_OFF', `Zoom will not give a Caption URL for ${what} because the caption API is off${said}: ${CAPTION_SETTINGS}`);
  }
  if (/not (been )?started|has not started/i.test(message)) {
    return new BridgeError(
      'ZOOM_MEETING_NOT_STARTED',
      `${capitalize(what)} has not started: the host has to start it; the bridge fetches its Caption URL as soon as it has (at once with the meeting.started webhook, otherwise at its next poll)`,
    );
  }
  if (status === 404 || body.code === 3001 || body.code === 300 || /does not exist|invalid (meeting|webinar) id/i.test(message)) {
    const account = edition === 'master' ? 'the sub-account zoomApi.subAccountId names' : "the app's account";
    return new BridgeError(
      'ZOOM_MEETING_NOT_FOUND',
      `Zoom cannot find ${what} in ${account}${said}: check the id (the digits in the join link) and that the meeting is hosted by a user of ${account}; ` +
        "a meeting of another account looks the same as a missing one, so the Zoom app must be made in the host's account",
    );
  }
  if (status === 403 || body.code === 200 || /no permission|not allowed|only .*master/i.test(message)) {
    const fix =
      edition === 'master'
        ? 'zoomApi.subAccountId makes the bridge call /accounts/{subAccountId}/..., which only an app of a Zoom master account with :master scopes may do; for an ordinary account remove subAccountId'
        : 'the app can read only meetings and webinars hosted in its own account; to caption a sub-account of a master account, use an app of the master account and set zoomApi.subAccountId';
    return new BridgeError('ZOOM_API_NO_PERMISSION', `Zoom refused ${what}${said}: ${fix}`);
  }
  if (status === 401) {
    return new BridgeError(
      'ZOOM_API_AUTH',
      `Zoom refused the app's access token twice for ${what}${said}: the app may have been deactivated or deleted, or its scopes changed; check it ${APP_PAGE}`,
    );
  }
  if (status === 429) {
    return new BridgeError('ZOOM_API_RATE_LIMITED', `Zoom API rate limit reached for ${what}${said}; the bridge will try again later`);
  }
  return new BridgeError(status >= 500 ? 'ZOOM_API_UNAVAILABLE' : 'ZOOM_API_ERROR', `Zoom API answered ${status} for ${what}${said}`);
}
