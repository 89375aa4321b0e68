import { SocketErrorName } from '@socketgate/protocol';
import { describe, expect, it } from 'vitest';
import { QAbstractSocket, socketErrorFromName, socketStateMoves } from './abstract-socket.js';
import {
  BindFlag,
  NetworkLayerProtocol,
  nameOf,
  OpenModeFlag,
  PauseMode,
  SocketError,
  SocketOption,
  SocketState,
  SocketType,
} from './enums.js';

/** QT-SOCKETS.md §1.1, copied by hand: the enums must match this exactly, no member more or less. */
const QT = {
  SocketType: { TcpSocket: 0, UdpSocket: 1, SctpSocket: 2, UnknownSocketType: -1 },
  NetworkLayerProtocol: { IPv4Protocol: 0, IPv6Protocol: 1, AnyIPProtocol: 2, UnknownNetworkLayerProtocol: -1 },
  SocketState: {
    UnconnectedState: 0,
    HostLookupState: 1,
    ConnectingState: 2,
    ConnectedState: 3,
    BoundState: 4,
    ListeningState: 5,
    ClosingState: 6,
  },
  SocketError: {
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
  },
  SocketOption: {
    LowDelayOption: 0,
    KeepAliveOption: 1,
    MulticastTtlOption: 2,
    MulticastLoopbackOption: 3,
    TypeOfServiceOption: 4,
    SendBufferSizeSocketOption: 5,
    ReceiveBufferSizeSocketOption: 6,
    PathMtuSocketOption: 7,
  },
  BindFlag: { DefaultForPlatform: 0x0, ShareAddress: 0x1, DontShareAddress: 0x2, ReuseAddressHint: 0x4 },
  PauseMode: { PauseNever: 0x0, PauseOnSslErrors: 0x1 },
  OpenModeFlag: {
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
  },
} as const;

const SDK = { SocketType, NetworkLayerProtocol, SocketState, SocketError, SocketOption, BindFlag, PauseMode, OpenModeFlag };

/** The enums declared in QAbstractSocket itself (OpenModeFlag belongs to QIODeviceBase). */
const SOCKET_ENUMS = ['SocketType', 'NetworkLayerProtocol', 'SocketState', 'SocketError', 'SocketOption', 'BindFlag', 'PauseMode'] as const;

type Members = Record<string, number>;
const onClass = QAbstractSocket as unknown as Record<string, Members | number | undefined>;

describe("Qt's enums (QT-SOCKETS.md §1.1)", () => {
  it.each(Object.keys(QT) as Array<keyof typeof QT>)("%s has exactly Qt's members and values", (name) => {
    expect(SDK[name]).toStrictEqual(QT[name]);
  });

  it('SocketError has all 24 values, -1 to 22, in order', () => {
    const values = Object.values(SocketError);
    expect(values).toHaveLength(24);
    expect(values).toEqual(Array.from({ length: 24 }, (_, i) => i - 1));
  });

  it('ReadWrite is ReadOnly | WriteOnly', () => {
    expect(OpenModeFlag.ReadWrite).toBe(OpenModeFlag.ReadOnly | OpenModeFlag.WriteOnly);
  });

  it('nameOf gives the member name of a value', () => {
    expect(nameOf(SocketState, SocketState.ConnectedState)).toBe('ConnectedState');
    expect(nameOf(SocketError, -1)).toBe('UnknownSocketError');
    expect(nameOf(SocketState, 42)).toBe('42');
  });
});

describe('QAbstractSocket enum members', () => {
  it.each([...SOCKET_ENUMS, 'OpenModeFlag' as const])('QAbstractSocket.%s is the enum object', (name) => {
    expect(onClass[name]).toBe(SDK[name]);
  });

  const flat = SOCKET_ENUMS.flatMap((group) => Object.entries(QT[group]).map(([member, value]) => ({ group, member, value })));

  it.each(flat)('QAbstractSocket.$group.$member and QAbstractSocket.$member are both $value', ({ group, member, value }) => {
    expect((onClass[group] as Members)[member]).toBe(value);
    expect(onClass[member]).toBe(value);
  });

  it('has no member name in two enums, so the flat names cannot overwrite each other', () => {
    const names = SOCKET_ENUMS.flatMap((group) => Object.keys(QT[group]));
    expect(new Set(names).size).toBe(names.length);
  });

  it('reads naturally in code', () => {
    expect(QAbstractSocket.SocketState.ConnectedState).toBe(3);
    expect(QAbstractSocket.ConnectedState).toBe(3);
    expect(QAbstractSocket.SocketError.RemoteHostClosedError).toBe(1);
    expect(QAbstractSocket.RemoteHostClosedError).toBe(1);
    expect(QAbstractSocket.UnknownNetworkLayerProtocol).toBe(-1);
  });
});

describe('socketErrorFromName', () => {
  it.each(SocketErrorName.options)('maps %s to the SocketError of the same name', (name) => {
    expect(socketErrorFromName(name)).toBe(QT.SocketError[name]);
    expect(nameOf(SocketError, socketErrorFromName(name))).toBe(name);
  });

  it('covers exactly the SocketError names, each to a different value', () => {
    expect([...SocketErrorName.options].sort()).toEqual(Object.keys(QT.SocketError).sort());
    const values = SocketErrorName.options.map((name) => socketErrorFromName(name));
    expect(new Set(values).size).toBe(24);
  });
});

describe("the socket's state table (QT-SOCKETS.md §2.1)", () => {
  const { UnconnectedState, HostLookupState, ConnectingState, ConnectedState, BoundState, ListeningState, ClosingState } = SocketState;
  const qt: ReadonlyArray<readonly [SocketState, readonly SocketState[]]> = [
    [UnconnectedState, [HostLookupState, BoundState]],
    [HostLookupState, [ConnectingState, UnconnectedState]],
    [ConnectingState, [ConnectedState, UnconnectedState]],
    [ConnectedState, [ClosingState, UnconnectedState]],
    [BoundState, [HostLookupState, ClosingState, UnconnectedState]],
    [ClosingState, [UnconnectedState]],
    [ListeningState, []],
  ];
  const named = (states: readonly SocketState[]) => states.map((state) => nameOf(SocketState, state)).sort();

  it('has a row for every state and nothing else', () => {
    expect(Object.keys(socketStateMoves).map(Number).sort()).toEqual(Object.values(SocketState).sort());
  });

  it.each(qt.map(([from, to]) => [nameOf(SocketState, from), named(to).join(', ') || 'none', from, to] as const))(
    'from %s allows exactly: %s',
    (_from, _to, from, to) => {
      const moves = socketStateMoves[from];
      expect(named(moves)).toEqual(named(to));
      expect(new Set(moves).size).toBe(moves.length);
    },
  );

  it('never lists a move to the state itself', () => {
    for (const [from, moves] of Object.entries(socketStateMoves)) expect(moves).not.toContain(Number(from));
  });
});
