/**
 * The words a meeting brings that a general model mishears: the names and terms of its topic and agenda, and its
 * participants' names. Only as vocabulary for the engine: nothing here is shown.
 */
export interface MeetingWordSources {
  topic?: string;
  agenda?: string;
  /** Participants' display names, as Zoom gives them. */
  names?: readonly string[];
}

/** Enough for a large meeting's names and its agenda's terms, within what engines take (the configured phrases first). */
export const MAX_MEETING_WORDS = 60;

/** Parts of display names that name a device or a role, not a person. */
const NOT_NAMES = new Set(['guest', 'user', 'iphone', 'ipad', 'android', 'phone', 'room', 'host', 'admin', 'zoom', 'call', 'caller', 'the', 'of', 'and', 'mr', 'mrs', 'ms', 'dr']);

/**
 * Words that begin a meeting's title or an agenda line without naming anything ("Weekly sync", "Budget review"): a
 * capitalised first word not among these is taken as a name ("Falcon budget review").
 */
const TITLE_WORDS = new Set(
  'a an the our my your this next new all weekly daily monthly quarterly annual team meeting review update updates sync standup planning budget welcome agenda notes questions q open any other item items status report project discussion intro introduction wrap closing board general staff company'.split(' '),
);

/** A word as a vocabulary entry: letters (any script), with inner apostrophes or hyphens. */
const WORD = /^\p{L}[\p{L}'’-]*\p{L}$/u;

/**
 * Names from display names ("Priya Raman (she/her)" gives "Priya Raman", "Priya", "Raman"), and from the topic and
 * agenda their proper names, acronyms and product names: a capitalised word that does not start a sentence, a run of
 * such words ("Norland Park", also at a sentence's start), a first word that is not one titles begin with ("Falcon
budget review", not "Weekly sync"), a word in capitals ("HVAC") or with an inner capital ("iCloud"). Ordinary words are
 * left out: the engine knows them, and boosting them would cost the words it should boost. In order of first
 * appearance (names first), without repeats, at most MAX_MEETING_WORDS.
 */
export function meetingWords(sources: MeetingWordSources): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (term: string): void => {
    const key = term.toLowerCase();
    if (!seen.has(key) && found.length < MAX_MEETING_WORDS) {
      seen.add(key);
      found.push(term);
    }
  };
  for (const raw of sources.names ?? []) {
    const parts = raw
      .replace(/\(.*?\)|\[.*?\]|[\p{Cc}\p{Cf}]/gu, ' ')
      .split(/\s+/)
      .map((part) => part.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, ''))
      .filter((part) => part.length >= 2 && WORD.test(part) && !NOT_NAMES.has(part.toLowerCase()));
    if (parts.length >= 2 && parts.length <= 3) add(parts.join(' '));
    for (const part of parts) add(part);
  }
  for (const text of [sources.topic, sources.agenda]) {
    if (!text) continue;
    for (const sentence of text.split(/[.!?:;\n]+|\s[-–—]\s/)) {
      const words = sentence.split(/[\s,/()]+/).map((word) => word.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '')).filter(Boolean);
      let run: string[] = [];
      const endRun = (): void => {
        if (run.length >= 2) add(run.join(' '));
        for (const word of run) add(word);
        run = [];
      };
      words.forEach((word, index) => {
        const special = /^\p{Lu}{2,6}$/u.test(word) || /^\p{Ll}+\p{Lu}/u.test(word);
        const capitalised = (w: string | undefined): boolean => w !== undefined && /^\p{Lu}\p{Ll}/u.test(w) && WORD.test(w);
        // A sentence's first word is capitalised anyway: it is a name as the start of a run ("Norland Park"), or when
        // it is not a word titles begin with ("Falcon budget review").
        const proper = capitalised(word) && (index > 0 || capitalised(words[index + 1]) || !TITLE_WORDS.has(word.toLowerCase()));
        if (special) {
          endRun();
          add(word);
        } else if (proper && !NOT_NAMES.has(word.toLowerCase())) run.push(word);
        else endRun();
      });
      endRun();
    }
  }
  return found;
}
