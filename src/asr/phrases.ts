/**
 * Meeting vocabulary (names, product words) the engine should expect. Cloud engines boost the text; pocketsphinx
 * can only add a word when given its pronunciation in CMU phones (e.g. "K UW B ER N EH T IY Z").
 */
export interface Phrase {
  text: string;
  pronunciation?: string;
}

export const phraseTexts = (phrases: Phrase[]): string[] => phrases.map((p) => p.text);
