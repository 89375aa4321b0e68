import type { Duplex } from 'node:stream';

/** A test's side of an IMAP dialogue, a line at a time, over a plain or a TLS socket. */
export interface ImapLines {
  /** Resolves with the next line the server sends, without its CRLF. */
  nextLine(): Promise<string>;
  /** Sends `TAG command` with a fresh tag and resolves with every line up to the tagged reply, which is last. */
  command(command: string): Promise<string[]>;
  /**
   * Stops reading, as STARTTLS needs once its `OK` came: the socket then goes to
   * `tls.connect({ socket })`, and a new `imapLines` reads the TLS socket.
   */
  detach(): void;
}

/** Reads `socket` line by line; every wait rejects after `timeoutMs` (5 s unless given) or when the socket ends first. */
export function imapLines(socket: Duplex, options: { timeoutMs?: number } = {}): ImapLines {
  const timeoutMs = options.timeoutMs ?? 5000;
  const lines: string[] = [];
  const waiting: Array<{ resolve(line: string): void; reject(error: Error): void }> = [];
  let pending = '';
  let ended: Error | undefined;
  let tags = 0;
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('latin1');
    for (let end = pending.indexOf('\r\n'); end >= 0; end = pending.indexOf('\r\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(line);
      else lines.push(line);
    }
  };
  const onEnd = (): void => {
    ended = new Error(`the IMAP server closed the connection${pending ? ` after ${JSON.stringify(pending)}` : ''}`);
    for (const waiter of waiting.splice(0)) waiter.reject(ended);
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  const nextLine = (): Promise<string> => {
    const ready = lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (ended) return Promise.reject(ended);
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(waiter), 1);
        reject(new Error(`no IMAP line within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.push(waiter);
    });
  };
  return {
    nextLine,
    command: async (command) => {
      const tag = `t${++tags}`;
      socket.write(`${tag} ${command}\r\n`);
      const reply: string[] = [];
      for (;;) {
        const line = await nextLine();
        reply.push(line);
        if (line.startsWith(`${tag} `)) return reply;
      }
    },
    detach: () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    },
  };
}
