import { describe, expect, it } from 'vitest';
import { ECHO, IAC, SUPPRESS_GO_AHEAD, TelnetFilter } from './telnet.js';

const WILL = 251;
const WONT = 252;
const DO = 253;
const DONT = 254;
const SB = 250;
const SE = 240;
const NAWS = 31;
const TTYPE = 24;

describe('TelnetFilter', () => {
  it('agrees to ECHO and SUPPRESS-GO-AHEAD, refuses other options, and shows no IAC bytes', () => {
    const telnet = new TelnetFilter();
    const { text, reply } = telnet.receive(
      Uint8Array.of(IAC, WILL, ECHO, IAC, WILL, SUPPRESS_GO_AHEAD, IAC, DO, TTYPE, IAC, DO, NAWS, 0x68, 0x69, IAC, DO, SUPPRESS_GO_AHEAD),
    );
    expect([...text]).toEqual([0x68, 0x69]);
    expect([...reply]).toEqual([
      IAC,
      DO,
      ECHO,
      IAC,
      DO,
      SUPPRESS_GO_AHEAD,
      IAC,
      WONT,
      TTYPE,
      IAC,
      WONT,
      NAWS,
      IAC,
      WILL,
      SUPPRESS_GO_AHEAD,
    ]);
    expect(telnet.serverEchoes).toBe(true);
    expect([...telnet.receive(Uint8Array.of(IAC, WONT, ECHO)).reply]).toEqual([IAC, DONT, ECHO]);
    expect(telnet.serverEchoes).toBe(false);
  });

  it('skips subnegotiation, keeps an escaped 255, and handles commands split across reads', () => {
    const telnet = new TelnetFilter();
    const first = telnet.receive(Uint8Array.of(0x61, IAC, SB, TTYPE, 1, IAC));
    const second = telnet.receive(Uint8Array.of(SE, 0x62, IAC, IAC, 0x63, IAC));
    const third = telnet.receive(Uint8Array.of(WILL, 99));
    expect([...first.text, ...second.text, ...third.text]).toEqual([0x61, 0x62, IAC, 0x63]);
    expect([...third.reply]).toEqual([IAC, DONT, 99]);
    expect([...TelnetFilter.escape(Uint8Array.of(1, IAC, 2))]).toEqual([1, IAC, IAC, 2]);
  });
});
