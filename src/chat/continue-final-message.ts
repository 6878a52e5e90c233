// transformers' continue_final_message: cut the rendered chat right after the final message's content, so the
// model continues that message instead of starting a new turn (the template's end-of-turn text is dropped).
export function cutAfterFinalMessage(rendered: string, finalContent: string): string {
  const stripped = finalContent.trim();
  const at = stripped === '' ? -1 : rendered.lastIndexOf(stripped);
  if (at < 0) {
    throw new Error('continue_final_message is set but the final message does not appear in the chat after ' +
      'applying the chat template (the template may transform message content)');
  }
  const lstripped = finalContent.trimStart();
  // The template kept the message's trailing whitespace: cut after it; otherwise after the stripped text.
  if (rendered.slice(at, at + lstripped.length) === finalContent) return rendered.slice(0, at + lstripped.length);
  return rendered.slice(0, at + stripped.length);
}
