/**
 * @module @socketgate/sdk
 * Qt's socket API (QAbstractSocket, QTcpSocket, QUdpSocket, QSslSocket) for browsers, tunnelled through a socketgate gateway.
 */
export { QAbstractSocket, type SocketOptions, socketErrorFromName, socketStateMoves } from './abstract-socket.js';
export type { ReceivedDatagram } from './datagram-channel.js';
export {
  BindFlag,
  NetworkLayerProtocol,
  nameOf,
  type OpenMode,
  OpenModeFlag,
  PauseMode,
  SocketError,
  SocketOption,
  SocketState,
  SocketType,
} from './enums.js';
export { Gateway, type GatewayOptions, type TokenProvider, type WebSocketConstructor, type WebSocketLike } from './gateway-session.js';
export { QHostAddress, SpecialAddress } from './host-address.js';
export { QNetworkDatagram } from './network-datagram.js';
export { ProxyType, QNetworkProxy } from './network-proxy.js';
export { type Connection, type ReadonlySignal, Signal, type Slot } from './signal.js';
export { QSslCertificate } from './ssl/ssl-certificate.js';
export { QSslCipher } from './ssl/ssl-cipher.js';
export { QSslConfiguration } from './ssl/ssl-configuration.js';
export {
  AlertLevel,
  AlertType,
  AlternativeNameEntryType,
  EncodingFormat,
  HashAlgorithm,
  NextProtocolNegotiationStatus,
  PeerVerifyMode,
  SslError,
  SslMode,
  SslProtocol,
  SubjectInfo,
} from './ssl/ssl-enums.js';
export { QSslError } from './ssl/ssl-error.js';
export { QSslSocket } from './ssl/ssl-socket.js';
export { QTcpSocket } from './tcp-socket.js';
export { QUdpSocket } from './udp-socket.js';
