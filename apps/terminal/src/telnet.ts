/**
 * A small telnet client side (RFC 854): it strips option negotiation from the byte stream, answers
 * it, and says whether the server echoes. It agrees to the server's ECHO and SUPPRESS-GO-AHEAD and
 * refuses every other option; IAC bytes never reach the screen.
 */
export const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
export const ECHO = 1;
export const SUPPRESS_GO_AHEAD = 3;

type State = 'data' | 'iac' | 'option' | 'sb' | 'sb-iac';

export class TelnetFilter {
  #state: State = 'data';
  #command = 0;
  /** True while the server has said it echoes (WILL ECHO): the terminal must not echo locally. */
  serverEchoes = false;

  /** Splits incoming bytes into what the screen shows and what must be answered. */
  receive(bytes: Uint8Array): { text: Uint8Array; reply: Uint8Array } {
    const text: number[] = [];
    const reply: number[] = [];
    for (const byte of bytes) {
      switch (this.#state) {
        case 'data':
          if (byte === IAC) this.#state = 'iac';
          else text.push(byte);
          break;
        case 'iac':
          if (byte === IAC) {
            text.push(IAC);
            this.#state = 'data';
          } else if (byte >= WILL && byte <= DONT) {
            this.#command = byte;
            this.#state = 'option';
          } else {
            this.#state = byte === SB ? 'sb' : 'data';
          }
          break;
        case 'option':
          reply.push(...this.#answer(this.#command, byte));
          this.#state = 'data';
          break;
        case 'sb':
          if (byte === IAC) this.#state = 'sb-iac';
          break;
        case 'sb-iac':
          this.#state = byte === SE ? 'data' : 'sb';
          break;
      }
    }
    return { text: Uint8Array.from(text), reply: Uint8Array.from(reply) };
  }

  #answer(command: number, option: number): number[] {
    const wanted = option === ECHO || option === SUPPRESS_GO_AHEAD;
    switch (command) {
      case WILL:
        if (option === ECHO) this.serverEchoes = true;
        return [IAC, wanted ? DO : DONT, option];
      case WONT:
        if (option === ECHO) this.serverEchoes = false;
        return [IAC, DONT, option];
      case DO:
        return [IAC, option === SUPPRESS_GO_AHEAD ? WILL : WONT, option];
      default:
        return [IAC, WONT, option];
    }
  }

  /** Escapes outgoing bytes: a data byte 255 is sent as IAC IAC. */
  static escape(bytes: Uint8Array): Uint8Array {
    if (!bytes.includes(IAC)) return bytes;
    const out: number[] = [];
    for (const byte of bytes) out.push(...(byte === IAC ? [IAC, IAC] : [byte]));
    return Uint8Array.from(out);
  }
}
