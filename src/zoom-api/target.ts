import { z } from 'zod';

/** What Zoom captions: a meeting or a webinar (and, next, a Video SDK session), by its numeric id. */
export type ZoomKind = 'meeting' | 'webinar';

export interface ZoomTarget {
  kind: ZoomKind;
  id: string;
}

const zoomId = (kind: ZoomKind) => z.coerce.string().regex(/^\d{9,12}$/, `a Zoom ${kind} id is 9 to 12 digits`).optional();

/** The config fields that name a target: one of them, in a source or a destination (each schema says how many). */
export const zoomTargetFields = { meetingId: zoomId('meeting'), webinarId: zoomId('webinar') };

export interface ZoomTargetFields {
  meetingId?: string | undefined;
  webinarId?: string | undefined;
}

/** For a schema's refine: exactly one of meetingId, webinarId. */
export const namesOneTarget = (fields: ZoomTargetFields): boolean => (fields.meetingId === undefined) !== (fields.webinarId === undefined);

/** The target config fields name, if they name one. */
export function targetOf(fields: ZoomTargetFields): ZoomTarget | undefined {
  if (fields.meetingId !== undefined) return { kind: 'meeting', id: fields.meetingId };
  if (fields.webinarId !== undefined) return { kind: 'webinar', id: fields.webinarId };
  return undefined;
}

/** The config fields that name a target (the inverse of targetOf). */
export function fieldsOf(target: ZoomTarget): { meetingId: string } | { webinarId: string } {
  return target.kind === 'meeting' ? { meetingId: target.id } : { webinarId: target.id };
}

export const describeTarget = (target: ZoomTarget): string => `${target.kind} ${target.id}`;

export const sameTarget = (a: ZoomTarget, b: ZoomTarget): boolean => a.kind === b.kind && a.id === b.id;
