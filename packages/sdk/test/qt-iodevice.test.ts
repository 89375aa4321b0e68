/** Qt's tst_qabstractsocket and tst_qiodevice socket cases (QT-SOCKETS.md §7.3). */
import { QHostAddress, QTcpSocket } from '@socketgate/sdk';
import { IMAP_GREETING, startImapServer, text, until } from '@socketgate/testkit';
import { describe, expect, it } from 'vitest';
import { gatewayForTest, stopAfter } from './helpers.js';

class SettableSocket extends QTcpSocket {
  set(port: number): void {
    this.setLocalPort(port);
    this.setPeerPort(port);
    this.setLocalAddress(new QHostAddress('127.0.0.1'));
    this.setPeerAddress(new QHostAddress('::1'));
    this.setPeerName('example.test');
  }
}

describe('tst_qabstractsocket', () => {
  it('#78 getSetCheck: readBufferSize stores 0 and the extremes verbatim; the protected setters store 0 and 65535', () => {
    const socket = new SettableSocket();
    for (const size of [0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]) {
      socket.setReadBufferSize(size);
      expect(socket.readBufferSize()).toBe(size);
    }
    for (const port of [0, 65535]) {
      socket.set(port);
      expect(socket.localPort()).toBe(port);
      expect(socket.peerPort()).toBe(port);
    }
    expect(socket.localAddress().toString()).toBe('127.0.0.1');
    expect(socket.peerAddress().toString()).toBe('::1');
    expect(socket.peerName()).toBe('example.test');
  });
});

describe('tst_qiodevice', () => {
  it('#79 constructing_QTcpSocket: not open before connecting, 1/1 channels after, pos stays 0, 0/0 after close, same greeting again', async () => {
    const imap = stopAfter(await startImapServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    expect(socket.isOpen()).toBe(false);
    for (let round = 0; round < 2; round++) {
      socket.connectToHost('127.0.0.1', imap.port);
      expect(await socket.waitForConnected(5000)).toBe(true);
      expect(socket.isOpen()).toBe(true);
      expect(socket.readChannelCount()).toBe(1);
      expect(socket.writeChannelCount()).toBe(1);
      await until(() => socket.canReadLine(), 5000, 'the greeting');
      expect(text(socket.readLine())).toBe(IMAP_GREETING);
      expect(socket.pos()).toBe(0);
      socket.close();
      expect(socket.readChannelCount()).toBe(0);
      expect(socket.writeChannelCount()).toBe(0);
    }
  });

  it('#80 unget and transaction: getChar/ungetChar/peek/read give "HTTP"-style bytes; a rolled-back read restores bytesAvailable', async () => {
    const imap = stopAfter(await startImapServer());
    const gw = await gatewayForTest();
    const socket = gw.socket();
    socket.connectToHost('127.0.0.1', imap.port);
    await until(() => socket.bytesAvailable() === IMAP_GREETING.length, 5000, 'the greeting');
    expect(socket.getChar()).toBe(0x2a); // '*'
    socket.ungetChar(0x2a);
    expect(text(socket.peek(4))).toBe('* OK');
    expect(text(socket.read(2))).toBe('* ');
    socket.ungetChar(' ');
    socket.ungetChar('*');
    expect(text(socket.read(4))).toBe('* OK');
    const available = socket.bytesAvailable();
    socket.startTransaction();
    expect(socket.isTransactionStarted()).toBe(true);
    expect(text(socket.read(3))).toBe(' [C');
    expect(socket.getChar()).toBe(0x41);
    expect(socket.bytesAvailable()).toBe(available - 4);
    socket.rollbackTransaction();
    expect(socket.isTransactionStarted()).toBe(false);
    expect(socket.bytesAvailable()).toBe(available);
    expect(text(socket.read(4))).toBe(' [CA');
    socket.startTransaction();
    socket.read(2);
    socket.commitTransaction();
    expect(socket.bytesAvailable()).toBe(available - 6);
  });
});
