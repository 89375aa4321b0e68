/**
 * Line mode, as a terminal's cooked mode (or `nc` in a shell) has it: what you type is shown at
 * once and edited locally (Backspace, Ctrl-U), and Enter sends the whole line with CR LF. A server
 * that sends each line straight back (an echo service) would show it twice, so a sent line that
 * comes back exactly is not shown again; once the server answered a line with something else, it
 * is taken not to echo and its output is shown as it comes.
 */
const ENTER = '\r';
const NEWLINE = '\n';
const BACKSPACE = '\x7f';
const CTRL_H = '\b';
const CTRL_U = '\x15';
const ESC = '\x1b';

/** Terminal input that is not text: C0 and C1 controls and DEL. */
const isControl = (char: string): boolean => {
  const code = char.codePointAt(0) as number;
  return code < 0x20 || (code >= 0x7f && code < 0xa0);
};

export class LineEditor {
  /** The line being edited, by code point. */
  #line: string[] = [];
  /** Whether the last character typed was CR, so that the LF of a CR LF pair is not a second Enter. */
  #afterEnter = false;
  /** Sent lines whose echo may still come; the first is being matched. */
  #expected: string[] = [];
  /** Received text that matches the start of the first expected line, held back until it is whole. */
  #held = '';
  /** Whether the server echoes lines: unknown until its first answer. */
  #echoes: boolean | undefined;

  /** Takes typed or pasted text: what the terminal shows at once and what goes to the server. */
  input(data: string): { show: string; send: string } {
    let show = '';
    let send = '';
    const chars = [...data];
    for (let i = 0; i < chars.length; i++) {
      const char = chars[i] as string;
      const afterEnter = this.#afterEnter;
      this.#afterEnter = char === ENTER;
      if (char === ENTER || char === NEWLINE) {
        if (char === NEWLINE && afterEnter) continue;
        const line = `${this.#line.join('')}\r\n`;
        this.#line = [];
        show += '\r\n';
        send += line;
        if (this.#echoes !== false) this.#expected.push(line);
      } else if (char === BACKSPACE || char === CTRL_H) {
        if (this.#line.pop() !== undefined) show += '\b \b';
      } else if (char === CTRL_U) {
        show += '\b \b'.repeat(this.#line.length);
        this.#line = [];
      } else if (char === ESC) {
        // A key's escape sequence (arrows, function keys, Alt+key): not text, dropped whole.
        i = endOfEscape(chars, i);
      } else if (!isControl(char)) {
        this.#line.push(char);
        show += char;
      }
    }
    return { show, send };
  }

  /** Takes text received from the server: what the terminal shows of it. */
  receive(text: string): string {
    let shown = '';
    for (const char of text) {
      const line = this.#expected[0];
      if (line === undefined) {
        shown += char;
      } else if (char === line[this.#held.length]) {
        this.#held += char;
        if (this.#held.length === line.length) {
          // The whole line came back: the server echoes, and the line is on the screen already.
          this.#expected.shift();
          this.#held = '';
          this.#echoes = true;
        }
      } else {
        shown += this.#held + char;
        this.#held = '';
        this.#expected = [];
        this.#echoes ??= false;
      }
    }
    return shown;
  }

  /** At the end of the connection: received text still held back, to be shown after all. */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    this.#expected = [];
    return held;
  }
}

/** Index of the last character of the escape sequence that starts at `start`. */
function endOfEscape(chars: string[], start: number): number {
  const next = chars[start + 1];
  if (next === '[') {
    // CSI: parameters and intermediates, up to a final byte from @ to ~.
    let i = start + 2;
    while (i < chars.length && !/[@-~]/.test(chars[i] as string)) i++;
    return i;
  }
  if (next === 'O') return start + 2; // SS3: one more character (F1-F4, keypad)
  return next === undefined ? start : start + 1; // Alt+key, or Escape alone
}
