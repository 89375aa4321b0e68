/**
 * @module
 * Small builders that keep the scenario files readable; what they build is plain data.
 */
import type { Accessor, CallStep, Calls, CheckStep, Method, RunStep, SignalName, StateName, Step } from './scenario.js';

/** A call on socket `s`, e.g. `call('read', 5)`. */
export const call = <M extends Method>(method: M, ...args: Calls[M]): CallStep => ({ call: method, args }) as CallStep;

/** A checkpoint of accessors on socket `s`. */
export const check = (...accessors: Accessor[]): CheckStep => ({ check: accessors });

/** Runs the event loop for `ms`. */
export const run = (ms: number): RunStep => ({ run: ms });

/** Runs the event loop until `signal` was emitted `count` times, for at most `ms`. */
export const until = (signal: SignalName, ms = 3000, count = 1): RunStep =>
  count === 1 ? { run: ms, until: signal } : { run: ms, until: signal, count };

/** Runs the event loop until the socket is in `state` (at once when it is), for at most `ms`. */
export const untilState = (state: StateName, ms = 3000): RunStep => ({ run: ms, state });

/** A wait that holds the runner's thread busy for `ms` as it begins (scenario.ts, CallStep). */
export const held = (ms: number, step: CallStep): CallStep => ({ ...step, hold: ms });

/** The same step on another socket. */
export const on = <S extends Step>(socket: string, step: S): S => ({ ...step, socket });

/** The step with a listed divergence (an id of the SDK README's list), optionally in these keys only. */
export const diverges = <S extends Step>(id: string, step: S, only?: string[]): S => ({
  ...step,
  diverges: only === undefined ? { id } : { id, only },
});

/** The accessors most checkpoints read. */
export const STATUS: Accessor[] = ['state', 'error', 'errorString', 'isOpen', 'isValid', 'openMode', 'bytesAvailable', 'bytesToWrite'];

/** STATUS and the connection's ends and channels. */
export const FULL: Accessor[] = [
  ...STATUS,
  'atEnd',
  'canReadLine',
  'localPort>0',
  'peerPort',
  'peerAddress',
  'peerName',
  'socketDescriptor',
  'readChannelCount',
  'writeChannelCount',
];

/** Connects `s` to server `server` at 127.0.0.1 and waits until connected. */
export const connectTo = (server: string, host = '127.0.0.1'): Step[] => [call('connectToHost', host, { server }), until('connected')];
