/** The text with its first letter in capitals (a sentence start, a sentence that starts a message). */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
