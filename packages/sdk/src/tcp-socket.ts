import { QAbstractSocket, type SocketOptions } from './abstract-socket.js';
import { SocketType } from './enums.js';

/** Qt's `QTcpSocket`: a buffered TCP stream through the gateway. */
export class QTcpSocket extends QAbstractSocket {
  constructor(options: SocketOptions = {}) {
    super(SocketType.TcpSocket, options);
  }
}
