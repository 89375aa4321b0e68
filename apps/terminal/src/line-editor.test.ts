import { describe, expect, it } from 'vitest';
import { LineEditor } from './line-editor.js';

describe('LineEditor', () => {
  it('shows typed text at once and sends the line with CR LF on Enter', () => {
    const editor = new LineEditor();
    expect(editor.input('for')).toEqual({ show: 'for', send: '' });
    expect(editor.input('tune')).toEqual({ show: 'tune', send: '' });
    expect(editor.input('\r')).toEqual({ show: '\r\n', send: 'fortune\r\n' });
  });

  it('erases with Backspace (DEL or Ctrl-H) and Ctrl-U, and never past the start of the line', () => {
    const editor = new LineEditor();
    expect(editor.input('timx\x7f')).toEqual({ show: 'timx\b \b', send: '' });
    expect(editor.input('e\r')).toEqual({ show: 'e\r\n', send: 'time\r\n' });
    expect(editor.input('\x7f\b')).toEqual({ show: '', send: '' });
    expect(editor.input('abc\x15quit\r')).toEqual({ show: `abc${'\b \b'.repeat(3)}quit\r\n`, send: 'quit\r\n' });
  });

  it('sends each line of a paste, counts CR LF as one Enter, and keeps the unfinished rest', () => {
    const editor = new LineEditor();
    expect(editor.input('one\r\ntwo\nthree\rfou')).toEqual({ show: 'one\r\ntwo\r\nthree\r\nfou', send: 'one\r\ntwo\r\nthree\r\n' });
    expect(editor.input('r\r')).toEqual({ show: 'r\r\n', send: 'four\r\n' });
    expect(editor.input('\r')).toEqual({ show: '\r\n', send: '\r\n' });
  });

  it('drops the escape sequences of arrows, function keys and Alt, and other control characters', () => {
    const editor = new LineEditor();
    expect(editor.input('a\x1b[A\x1b[1;5C\x1bOP\x1bxb\x01\x1b')).toEqual({ show: 'ab', send: '' });
    expect(editor.input('ü✓\r')).toEqual({ show: 'ü✓\r\n', send: 'abü✓\r\n' });
  });

  it('does not show a sent line again when the server echoes it, even split across reads', () => {
    const editor = new LineEditor();
    editor.input('hello\r');
    expect(editor.receive('hel')).toBe('');
    expect(editor.receive('lo\r\n')).toBe('');
    editor.input('again\r');
    editor.input('and again\r');
    expect(editor.receive('again\r\nand again\r\n')).toBe('');
    // An echoing server's own output is still shown.
    expect(editor.receive('bye\r\n')).toBe('bye\r\n');
  });

  it("shows a non-echoing server's answer whole, and stops expecting echoes from it", () => {
    const editor = new LineEditor();
    expect(editor.receive('Welcome.\r\n> ')).toBe('Welcome.\r\n> ');
    editor.input('fortune\r');
    expect(editor.receive('fo')).toBe('');
    expect(editor.receive('und\r\n> ')).toBe('found\r\n> ');
    // Taken not to echo: a later answer that happens to repeat the line is shown too.
    editor.input('123\r');
    expect(editor.receive('123\r\n> ')).toBe('123\r\n> ');
  });

  it('gives back what it held when the connection ends', () => {
    const editor = new LineEditor();
    editor.input('hello\r');
    expect(editor.receive('hell')).toBe('');
    expect(editor.flush()).toBe('hell');
    expect(editor.receive('o')).toBe('o');
  });
});
