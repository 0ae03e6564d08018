import { describe, expect, it } from 'vitest';
import { MAX_MEETING_WORDS, meetingWords } from '../../../src/asr/meeting-words.js';

describe("a meeting's own words", () => {
  it("takes participants' names whole and by part, leaving out devices, roles and pronouns", () => {
    expect(meetingWords({ names: ['Priya Raman (she/her)', "Seán O'Brien", 'iPhone', 'Conference Room 4B', 'Dr. Ngozi Okafor-Bello', 'Priya Raman'] })).toEqual([
      'Priya Raman',
      'Priya',
      'Raman',
      "Seán O'Brien",
      'Seán',
      "O'Brien",
      'Conference',
      'Ngozi Okafor-Bello',
      'Ngozi',
      'Okafor-Bello',
    ]);
  });

  it("takes the topic's and agenda's proper names, acronyms and product names, not their ordinary words", () => {
    expect(meetingWords({ topic: 'Budget review: Project Falcon and the HVAC bids', agenda: 'Welcome. Norland Park lease - update from iCloud migration. Questions' })).toEqual([
      'Project Falcon',
      'Project',
      'Falcon',
      'HVAC',
      'Norland Park',
      'Norland',
      'Park',
      'iCloud',
    ]);
  });

  it("takes a title's first word when titles do not begin with it", () => {
    expect(meetingWords({ topic: 'Falcon budget review', agenda: 'Kestrel migration. Weekly sync. Status of the Norland lease' })).toEqual(['Falcon', 'Kestrel', 'Norland']);
  });

  it('keeps at most MAX_MEETING_WORDS, names first', () => {
    const names = Array.from({ length: 80 }, (_, i) => `Person${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))} Smith`);
    const words = meetingWords({ names, topic: 'Project Falcon' });
    expect(words).toHaveLength(MAX_MEETING_WORDS);
    expect(words).not.toContain('Falcon');
  });
});
