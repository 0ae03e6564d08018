/** How a listener finds where a stream goes: by meeting id, or by trying each meeting's credential in turn. */
export interface Routes<T> {
  get(meetingId: string): T | undefined;
  entries(): Iterable<[string, T]>;
}
