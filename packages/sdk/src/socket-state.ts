/** Qt's socket state machine: the states, the moves between them, and the groups of states the SDK names. */
import { SocketState } from './enums.js';

export const { UnconnectedState, HostLookupState, ConnectingState, ConnectedState, BoundState, ClosingState } = SocketState;

/** Qt's allowed state moves (QT-SOCKETS.md §2.1); a socket refuses any other. */
export const socketStateMoves: Readonly<Record<SocketState, readonly SocketState[]>> = {
  [UnconnectedState]: [HostLookupState, BoundState],
  [HostLookupState]: [ConnectingState, UnconnectedState],
  [ConnectingState]: [ConnectedState, UnconnectedState],
  [ConnectedState]: [ClosingState, UnconnectedState],
  [BoundState]: [HostLookupState, ClosingState, UnconnectedState],
  [SocketState.ListeningState]: [],
  [ClosingState]: [UnconnectedState],
};

/** Connected or Closing: the connection is up, and bytes still flow. */
export const isLive = (state: SocketState): boolean => state === ConnectedState || state === ClosingState;

/** HostLookup or Connecting: a connect is under way. */
export const isConnecting = (state: SocketState): boolean => state === HostLookupState || state === ConnectingState;

/** Connecting, Connected, Closing or Bound: the gateway has a real socket for it (its options apply). */
export const hasSocket = (state: SocketState): boolean => isLive(state) || state === ConnectingState || state === BoundState;
