/** The chat log: `.chat-message[data-from]` entries with `.chat-from` and `.chat-text`. */
export class ChatLog {
  constructor(private readonly log: HTMLElement) {}

  /** `from` is the sender's identity (kept in `data-from`); `label` what to show, e.g. the display name. */
  append(from: string, label: string, text: string, own: boolean): void {
    const entry = document.createElement('div');
    entry.className = own ? 'chat-message own' : 'chat-message';
    entry.dataset.from = from;
    const who = document.createElement('span');
    who.className = 'chat-from';
    who.textContent = own ? `${label} (you)` : label;
    const body = document.createElement('span');
    body.className = 'chat-text';
    body.textContent = text;
    entry.append(who, body);
    this.log.append(entry);
    this.log.scrollTop = this.log.scrollHeight;
  }

  clear(): void {
    this.log.replaceChildren();
  }
}
