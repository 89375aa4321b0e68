/** Errors and their texts: which are emitted, which are only set, and when they are reset. */
import type { Scenario } from '../scenario.js';
import { call, check, diverges, STATUS, until, untilState } from '../steps.js';

export const errors: Scenario[] = [
  {
    name: 'err-reset-by-connect',
    title: 'an error stays until the next connectToHost, which resets it to UnknownSocketError "Unknown error"',
    sockets: { s: 'tcp' },
    servers: { refused: { tcp: 'refused' }, echo: { tcp: 'echo' } },
    steps: [
      call('connectToHost', '127.0.0.1', { server: 'refused' }),
      until('errorOccurred'),
      check('error', 'errorString'),
      call('connectToHost', '127.0.0.1', { server: 'echo' }),
      check('error', 'errorString'),
      until('connected'),
      check('error', 'errorString'),
    ],
  },
  {
    name: 'err-write-after-host-not-found',
    title: 'write() after a failed lookup: -1, UnknownSocketError "Socket is not connected", no errorOccurred',
    sockets: { s: 'tcp' },
    servers: {},
    steps: [call('connectToHost', 'no-such-host.invalid', 80), until('errorOccurred'), call('write', 'x'), check(...STATUS)],
  },
  {
    name: 'err-write-after-disconnect',
    title: 'write() after our own disconnect: -1, "Socket is not connected"; the device is still open',
    sockets: { s: 'tcp' },
    servers: { echo: { tcp: 'echo' } },
    steps: [
      call('connectToHost', '127.0.0.1', { server: 'echo' }),
      until('connected'),
      call('disconnectFromHost'),
      call('write', 'x'),
      check(...STATUS),
    ],
  },
  {
    name: 'err-connect-port-zero',
    title: 'connectToHost to port 0',
    sockets: { s: 'tcp' },
    servers: {},
    steps: [
      call('connectToHost', '127.0.0.1', 0),
      diverges('port-zero-policy', until('errorOccurred')),
      diverges('port-zero-policy', check(...STATUS), ['error', 'errorString']),
    ],
  },
  {
    name: 'err-udp-write-unconnected',
    title: 'write() on a UDP socket that never connected: the device is not open',
    sockets: { s: 'udp' },
    servers: {},
    steps: [call('write', 'x'), check(...STATUS)],
  },
  {
    name: 'err-udp-write-datagram-after-disconnect',
    title: 'after a connected UDP socket is disconnected, writeDatagram binds it again and sends',
    sockets: { s: 'udp' },
    servers: { echo: { udp: 'echo' } },
    steps: [
      call('connectToHost', '127.0.0.1', { server: 'echo' }),
      untilState('ConnectedState'),
      call('disconnectFromHost'),
      call('writeDatagram', 'after', '127.0.0.1', { server: 'echo' }),
      // Not bytesAvailable: Qt asks the OS, where the echo may already be.
      check('state', 'error', 'errorString', 'isOpen', 'openMode'),
    ],
  },
];
