import type { Bind, Bound, Connected, SocketErrorName, Transport } from '@socketgate/protocol';
import type { ByteQueue } from './byte-queue.js';
import type { SocketOption, SocketState } from './enums.js';
import type { Gateway } from './gateway-session.js';

/**
 * What differs between socket types, below the socket's own state machine: Qt's socket engine,
 * which the socket type chooses once when the socket is made (`createSocketEngine`). A
 * StreamChannel carries TCP (credit, acknowledgements, the write pump, the half-close), a
 * DatagramChannel UDP (the datagram queue and its window cost, bind, multicast). The socket calls
 * these members; the channel answers through its ChannelHost and never moves the socket's state.
 */
export interface TransportChannel {
  /** The transport an `open` names. */
  readonly transport: Transport;
  /** Qt's isBuffered: a stream's bytes go through the socket's read buffer; a datagram socket is opened Unbuffered. */
  readonly buffered: boolean;
  /** The gateway connects this transport through a SOCKS5 proxy. */
  readonly proxied: boolean;

  /** A new stream on the gateway: the download credit it opens with. */
  open(): number;
  /** The gateway connected or bound the stream (before Qt's signals): the upload window it gives. */
  opened(message: Connected | Bound): void;
  /** After Qt's connected signal or the bind: credit and queued output may flow. */
  start(): void;
  /** The connection is over: forget what it held and owed. */
  reset(): void;

  /** Qt's unbuffered read: the next datagram, cut to `maxSize`; undefined when there is none (always, for a stream). */
  read(maxSize: number): Uint8Array | undefined;
  /** What read() would take next, in bytes. */
  available(): number;
  /** The read buffer lost bytes (a read) or readBufferSize changed; `resume`: Qt reads the network again. */
  freed(resume: boolean): void;

  /** write(), once the device found the socket open, writable and connecting or connected: the count, or -1. */
  write(bytes: Uint8Array): number;
  /** Qt's flush(): sends what the window allows now; true when anything was sent. */
  flush(): boolean;
  /** Written and not yet acknowledged by the gateway. */
  bytesToWrite(): number;
  /** The value Qt reads back at once for `option` set to `value`; undefined until the gateway answers. */
  option(option: SocketOption, value: number): number | undefined;

  /** Frames from the gateway; a transport takes the kinds it uses. */
  onData?(payload: Uint8Array): void;
  onDatagram?(host: string, port: number, payload: Uint8Array): void;
  /** The gateway acknowledged `bytes`: true when they are bytesWritten now (a datagram's were, as it left). */
  onAck(bytes: number): boolean;
  /** The peer ended the stream: true when the end waits behind bytes not yet readable (the channel ends the socket later). */
  holdEnd?(how: 'close' | 'reset'): boolean;
}

/**
 * What a channel may ask of its socket (Qt's QAbstractSocketEngineReceiver, and a little more): the
 * socket's state, session and stream, its read buffer, and the reports that are the socket's to make.
 */
export interface ChannelHost {
  state(): SocketState;
  /** The session the socket uses; a channel asks for it only once the socket has opened a stream on it. */
  gateway(): Gateway;
  /** The stream of the current connection or bind, while the gateway holds it. */
  stream(): number | undefined;
  /** The socket's read buffer, which a stream channel fills. */
  readonly readBuffer: ByteQueue;
  readBufferSize(): number;
  isReadable(): boolean;
  /** New data is readable: Qt's readyRead. */
  readyRead(): void;
  /** A datagram left: QUdpSocket's bytesWritten, at once; `channel`: channelBytesWritten too (write(), not writeDatagram()). */
  written(bytes: number, channel: boolean): void;
  /** Records Qt's error (Qt's text for it unless `text` is given); `emit` also emits errorOccurred. */
  setError(name: SocketErrorName, text?: string, emit?: boolean): void;
  warn(message: string): void;
  /** The peer's end, once everything before it is readable. */
  remoteClosed(how: 'close' | 'reset'): void;
  /** Asks the gateway for the half-close: it writes what it has, then closes. */
  sendClose(): void;
  /** Opens a bound UDP stream, and the socket is in BoundState (the gateway's answer brings the port). */
  bind(request: Pick<Bind, 'address' | 'port' | 'flags'>): void;
}

/** Grants the gateway up to `bytes` more download credit on the host's stream; returns what it granted. */
export function credit(host: ChannelHost, bytes: number): number {
  const stream = host.stream();
  if (stream === undefined || bytes <= 0) return 0;
  const n = Math.min(bytes, 0xffff_ffff);
  host.gateway().sendCredit(stream, n);
  return n;
}

const tasks: Array<() => void> = [];
let port: MessagePort | undefined;

/**
 * Runs `run` in the next task, never through a 0 ms timeout: Node's waits at least 1 ms, and a
 * browser's, once timeouts nest five deep, 4 ms. A wait that came true schedules the events it held
 * back from inside such a task, so an upload awaiting waitForBytesWritten() nested its timeouts for
 * good and ran at 15-25 MB/s in Chromium, against 200-270 when it did not (one fresh page in three).
 * Node's setImmediate where there is one (256 MiB uploaded in 475 ms, 993 through a timeout), else a
 * message to a MessageChannel of our own, which no browser holds back.
 */
export const nextTask: (run: () => void) => void =
  (globalThis as { setImmediate?: (run: () => void) => void }).setImmediate ??
  ((run) => {
    if (!port) {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => tasks.shift()?.();
      port = channel.port2;
    }
    tasks.push(run);
    port.postMessage(0);
  });

/** `task` in a microtask (or as `schedule` runs it), once however often the returned function is called before it runs. */
export function deferOnce(task: () => void, schedule: (run: () => void) => void = queueMicrotask): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    schedule(() => {
      queued = false;
      task();
    });
  };
}
