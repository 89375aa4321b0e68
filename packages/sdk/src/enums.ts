/** Qt's socket enums, with Qt's numeric values (QT-SOCKETS.md §1.1). */

export const SocketType = { TcpSocket: 0, UdpSocket: 1, SctpSocket: 2, UnknownSocketType: -1 } as const;
export type SocketType = (typeof SocketType)[keyof typeof SocketType];

export const NetworkLayerProtocol = {
  IPv4Protocol: 0,
  IPv6Protocol: 1,
  AnyIPProtocol: 2,
  UnknownNetworkLayerProtocol: -1,
} as const;
export type NetworkLayerProtocol = (typeof NetworkLayerProtocol)[keyof typeof NetworkLayerProtocol];

export const SocketState = {
  UnconnectedState: 0,
  HostLookupState: 1,
  ConnectingState: 2,
  ConnectedState: 3,
  BoundState: 4,
  ListeningState: 5,
  ClosingState: 6,
} as const;
export type SocketState = (typeof SocketState)[keyof typeof SocketState];

export const SocketError = {
  UnknownSocketError: -1,
  ConnectionRefusedError: 0,
  RemoteHostClosedError: 1,
  HostNotFoundError: 2,
  SocketAccessError: 3,
  SocketResourceError: 4,
  SocketTimeoutError: 5,
  DatagramTooLargeError: 6,
  NetworkError: 7,
  AddressInUseError: 8,
  SocketAddressNotAvailableError: 9,
  UnsupportedSocketOperationError: 10,
  UnfinishedSocketOperationError: 11,
  ProxyAuthenticationRequiredError: 12,
  SslHandshakeFailedError: 13,
  ProxyConnectionRefusedError: 14,
  ProxyConnectionClosedError: 15,
  ProxyConnectionTimeoutError: 16,
  ProxyNotFoundError: 17,
  ProxyProtocolError: 18,
  OperationError: 19,
  SslInternalError: 20,
  SslInvalidUserDataError: 21,
  TemporaryError: 22,
} as const;
export type SocketError = (typeof SocketError)[keyof typeof SocketError];

export const SocketOption = {
  LowDelayOption: 0,
  KeepAliveOption: 1,
  MulticastTtlOption: 2,
  MulticastLoopbackOption: 3,
  TypeOfServiceOption: 4,
  SendBufferSizeSocketOption: 5,
  ReceiveBufferSizeSocketOption: 6,
  PathMtuSocketOption: 7,
} as const;
export type SocketOption = (typeof SocketOption)[keyof typeof SocketOption];

export const BindFlag = { DefaultForPlatform: 0x0, ShareAddress: 0x1, DontShareAddress: 0x2, ReuseAddressHint: 0x4 } as const;
export type BindFlag = (typeof BindFlag)[keyof typeof BindFlag];

export const PauseMode = { PauseNever: 0x0, PauseOnSslErrors: 0x1 } as const;
export type PauseMode = (typeof PauseMode)[keyof typeof PauseMode];

/** `QIODeviceBase::OpenModeFlag`; combine with `|`. */
export const OpenModeFlag = {
  NotOpen: 0x00,
  ReadOnly: 0x01,
  WriteOnly: 0x02,
  ReadWrite: 0x03,
  Append: 0x04,
  Truncate: 0x08,
  Text: 0x10,
  Unbuffered: 0x20,
  NewOnly: 0x40,
  ExistingOnly: 0x80,
} as const;
export type OpenMode = number;

/** The name of an enum value, for messages: `nameOf(SocketState, 3)` is `ConnectedState`. */
export function nameOf(enumeration: Record<string, number>, value: number): string {
  return Object.keys(enumeration).find((key) => enumeration[key] === value) ?? String(value);
}

/** QAbstractSocket's enums by name, as PySide puts them on the class: `QAbstractSocket.SocketState`. */
const SOCKET_ENUMS = { SocketType, SocketState, SocketError, SocketOption, NetworkLayerProtocol, BindFlag, PauseMode, OpenModeFlag };

/** The enums whose every value PySide also puts on the class itself: `QAbstractSocket.ConnectedState`. */
const VALUE_ENUMS = [SocketType, SocketState, SocketError, SocketOption, NetworkLayerProtocol, BindFlag, PauseMode] as const;
type Values<T> = T extends readonly [infer First, ...infer Rest] ? First & Values<Rest> : unknown;

/** Puts QAbstractSocket's enums on its class as PySide does. */
export function withSocketEnums<C extends object>(socketClass: C): C & Readonly<typeof SOCKET_ENUMS> & Values<typeof VALUE_ENUMS> {
  return Object.assign(socketClass, SOCKET_ENUMS, ...VALUE_ENUMS);
}
