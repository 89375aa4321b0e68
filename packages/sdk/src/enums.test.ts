import { SocketErrorName } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import { QAbstractSocket, socketErrorFromName, socketStateMoves } from './abstract-socket.js';
import { BindFlag, NetworkLayerProtocol, OpenModeFlag, SocketError, SocketOption, SocketState, SocketType } from './enums.js';

describe("Qt's enums (QT-SOCKETS.md §1.1)", () => {
  it("have Qt's numeric values", () => {
    expect(SocketType).toEqual({ TcpSocket: 0, UdpSocket: 1, SctpSocket: 2, UnknownSocketType: -1 });
    expect(NetworkLayerProtocol).toEqual({ IPv4Protocol: 0, IPv6Protocol: 1, AnyIPProtocol: 2, UnknownNetworkLayerProtocol: -1 });
    expect(SocketState).toEqual({
      UnconnectedState: 0,
      HostLookupState: 1,
      ConnectingState: 2,
      ConnectedState: 3,
      BoundState: 4,
      ListeningState: 5,
      ClosingState: 6,
    });
    expect(Object.entries(SocketError)).toEqual(
      [
        'UnknownSocketError',
        'ConnectionRefusedError',
        'RemoteHostClosedError',
        'HostNotFoundError',
        'SocketAccessError',
        'SocketResourceError',
        'SocketTimeoutError',
        'DatagramTooLargeError',
        'NetworkError',
        'AddressInUseError',
        'SocketAddressNotAvailableError',
        'UnsupportedSocketOperationError',
        'UnfinishedSocketOperationError',
        'ProxyAuthenticationRequiredError',
        'SslHandshakeFailedError',
        'ProxyConnectionRefusedError',
        'ProxyConnectionClosedError',
        'ProxyConnectionTimeoutError',
        'ProxyNotFoundError',
        'ProxyProtocolError',
        'OperationError',
        'SslInternalError',
        'SslInvalidUserDataError',
        'TemporaryError',
      ].map((name, i) => [name, i - 1]),
    );
    expect(SocketOption).toEqual({
      LowDelayOption: 0,
      KeepAliveOption: 1,
      MulticastTtlOption: 2,
      MulticastLoopbackOption: 3,
      TypeOfServiceOption: 4,
      SendBufferSizeSocketOption: 5,
      ReceiveBufferSizeSocketOption: 6,
      PathMtuSocketOption: 7,
    });
    expect(OpenModeFlag).toMatchObject({
      NotOpen: 0,
      ReadOnly: 1,
      WriteOnly: 2,
      ReadWrite: 3,
      Append: 4,
      Truncate: 8,
      Text: 0x10,
      Unbuffered: 0x20,
    });
    expect(BindFlag).toEqual({ DefaultForPlatform: 0, ShareAddress: 1, DontShareAddress: 2, ReuseAddressHint: 4 });
  });

  it('are reachable on QAbstractSocket both nested and flat, as in PySide', () => {
    for (const [group, values] of Object.entries({ SocketType, SocketState, SocketError, SocketOption, NetworkLayerProtocol })) {
      for (const [name, value] of Object.entries(values)) {
        expect((QAbstractSocket as unknown as Record<string, Record<string, number>>)[group]?.[name]).toBe(value);
        expect((QAbstractSocket as unknown as Record<string, number>)[name]).toBe(value);
      }
    }
  });

  it('map every wire error name to the SocketError of the same name', () => {
    for (const name of SocketErrorName.options) expect(socketErrorFromName(name)).toBe(SocketError[name]);
    expect(SocketErrorName.options).toHaveLength(Object.keys(SocketError).length);
  });
});

describe("the socket's state table", () => {
  const { UnconnectedState, HostLookupState, ConnectingState, ConnectedState, BoundState, ListeningState, ClosingState } = SocketState;
  const qt: Record<number, number[]> = {
    [UnconnectedState]: [HostLookupState, BoundState],
    [HostLookupState]: [ConnectingState, UnconnectedState],
    [ConnectingState]: [ConnectedState, UnconnectedState],
    [ConnectedState]: [ClosingState, UnconnectedState],
    [BoundState]: [HostLookupState, ClosingState, UnconnectedState],
    [ListeningState]: [],
    [ClosingState]: [UnconnectedState],
  };
  it.each(Object.entries(socketStateMoves))("allows from state %s exactly Qt's moves", (from, moves) => {
    expect([...moves].sort()).toEqual([...(qt[Number(from)] ?? [])].sort());
  });
});
