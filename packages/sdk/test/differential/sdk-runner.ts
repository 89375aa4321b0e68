/**
 * @module
 * Plays scenarios on the SDK through a real gateway and writes the canonical trace (trace.ts).
 *
 * Steps that are plain calls run back to back with no await between them, so nothing the SDK
 * defers (to a microtask or a timer) can run between two of them: as in Qt, only a wait or a run
 * of the event loop lets the network and the SDK's deferred work in. A wait's Promise is awaited;
 * what is emitted until it settles counts as inside the wait, as Qt emits it inside its blocking
 * call.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  AlertLevel,
  AlertType,
  BindFlag,
  Gateway,
  nameOf,
  PauseMode,
  PeerVerifyMode,
  QAbstractSocket,
  QHostAddress,
  QSslCertificate,
  QSslError,
  QSslSocket,
  QTcpSocket,
  QUdpSocket,
  SocketError,
  SocketOption,
  SocketState,
  SslError,
  SslMode,
  SslProtocol,
} from '@socketgate/sdk';
import { WebSocket } from 'ws';
import {
  type Accessor,
  type BindAddress,
  type CallStep,
  CHANNEL_SIGNALS,
  type Data,
  isCall,
  isRun,
  type PlannedScenario,
  type PortRef,
  SIGNALS,
  type SignalName,
  SSL_SIGNALS,
  type SslErrorName,
  type StateName,
  WAITS,
} from './scenario.js';
import { bytesValue, type Entry, type Json, type Trace } from './trace.js';

type Socket = QTcpSocket | QUdpSocket | QSslSocket;

/** A certificate as the trace names it: its subject's common names. */
const commonName = (certificate: QSslCertificate): string => certificate.subjectInfo(QSslCertificate.SubjectInfo.CommonName).join(',');
const errorName = (error: QSslError): string => nameOf(SslError, error.error());

/** Bytes of scenario data: each character one byte. */
export function dataBytes(data: Data): Uint8Array {
  const text = typeof data === 'string' ? data : data.text.repeat(data.repeat);
  return Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
}

class Run {
  readonly entries: Entry[] = [];
  readonly sockets = new Map<string, Socket>();
  step = 0;
  inside = false;
  recording = true;

  constructor(
    readonly scenario: PlannedScenario,
    gateway: Gateway,
  ) {
    for (const [name, kind] of Object.entries(scenario.sockets)) {
      const socket =
        kind === 'tcp' ? new QTcpSocket({ gateway }) : kind === 'udp' ? new QUdpSocket({ gateway }) : new QSslSocket({ gateway });
      this.sockets.set(name, socket);
      this.#record(name, socket);
      if (socket instanceof QSslSocket) this.#recordSsl(name, socket);
    }
  }

  ssl(name = 's'): QSslSocket {
    const socket = this.socket(name);
    if (!(socket instanceof QSslSocket)) throw new Error(`socket ${name} is not an SSL socket`);
    return socket;
  }

  /** QSslSocket's signals, then the scenario's sslErrors slot. */
  #recordSsl(name: string, socket: QSslSocket): void {
    const on = (signal: SignalName, args: Json[]) =>
      this.push({ step: this.step, signal, socket: name, args, state: nameOf(SocketState, socket.state()), inside: this.inside });
    for (const signal of SSL_SIGNALS) {
      switch (signal) {
        case 'encrypted':
          socket.encrypted.connect(() => on(signal, []));
          break;
        case 'modeChanged':
          socket.modeChanged.connect((mode) => on(signal, [nameOf(SslMode, mode)]));
          break;
        case 'sslErrors':
          socket.sslErrors.connect((errors) => on(signal, errors.map(errorName)));
          break;
        case 'peerVerifyError':
          socket.peerVerifyError.connect((error) => on(signal, [errorName(error)]));
          break;
        case 'alertReceived':
          socket.alertReceived.connect((level, type, description) =>
            on(signal, [nameOf(AlertLevel, level), nameOf(AlertType, type), description]),
          );
          break;
        case 'encryptedBytesWritten':
          break;
      }
    }
    if (this.scenario.encryptedBytesWritten) socket.encryptedBytesWritten.connect((bytes) => on('encryptedBytesWritten', [bytes]));
    const slot = this.scenario.onSslErrors?.[name];
    if (slot === 'all') socket.sslErrors.connect(() => socket.ignoreSslErrors());
    else if (slot === 'abort') socket.sslErrors.connect(() => socket.abort());
    else if (slot !== undefined) socket.sslErrors.connect(() => socket.ignoreSslErrors(errorList(socket, slot)));
  }

  socket(name = 's'): Socket {
    const socket = this.sockets.get(name);
    if (socket === undefined) throw new Error(`the scenario has no socket ${name}`);
    return socket;
  }

  udp(name = 's'): QUdpSocket {
    const socket = this.socket(name);
    if (!(socket instanceof QUdpSocket)) throw new Error(`socket ${name} is not a UDP socket`);
    return socket;
  }

  push(entry: Entry): void {
    if (this.recording) this.entries.push(entry);
  }

  #record(name: string, socket: Socket): void {
    const names = this.scenario.channelSignals ? [...SIGNALS, ...CHANNEL_SIGNALS] : SIGNALS;
    const on = (signal: SignalName, args: Json[]) =>
      this.push({ step: this.step, signal, socket: name, args, state: nameOf(SocketState, socket.state()), inside: this.inside });
    for (const signal of names) {
      switch (signal) {
        case 'stateChanged':
          socket.stateChanged.connect((state) => on(signal, [nameOf(SocketState, state)]));
          break;
        case 'errorOccurred':
          socket.errorOccurred.connect((error) => on(signal, [nameOf(SocketError, error)]));
          break;
        case 'bytesWritten':
          socket.bytesWritten.connect((bytes) => on(signal, [bytes]));
          break;
        case 'channelReadyRead':
          socket.channelReadyRead.connect((channel) => on(signal, [channel]));
          break;
        case 'channelBytesWritten':
          socket.channelBytesWritten.connect((channel, bytes) => on(signal, [channel, bytes]));
          break;
        default:
          (socket as QTcpSocket)[signal as 'connected'].connect(() => on(signal, []));
      }
    }
  }

  /** A port as the trace names it: a server's name, a socket's local port, 0, or `other`. */
  portName(port: number): Json {
    if (port === 0 || port === -1) return port;
    for (const [name, value] of Object.entries(this.scenario.ports)) if (value === port) return `server:${name}`;
    for (const [name, socket] of this.sockets) if (socket.localPort() === port) return `local:${name}`;
    return 'other';
  }

  port(ref: PortRef): number {
    if (typeof ref === 'number') return ref;
    if ('server' in ref) {
      const port = this.scenario.ports[ref.server];
      if (port === undefined) throw new Error(`the scenario has no server ${ref.server}`);
      return port;
    }
    return this.socket(ref.local).localPort();
  }

  accessor(socket: Socket, accessor: Accessor): Json {
    if (accessor.startsWith('socketOption:')) {
      const option = SocketOption[accessor.slice('socketOption:'.length) as keyof typeof SocketOption];
      return socket.socketOption(option) ?? null;
    }
    switch (accessor as Exclude<Accessor, `socketOption:${string}`>) {
      case 'state':
        return nameOf(SocketState, socket.state());
      case 'error':
        return nameOf(SocketError, socket.error());
      case 'errorString':
        return socket.errorString();
      case 'isValid':
        return socket.isValid();
      case 'isOpen':
        return socket.isOpen();
      case 'openMode':
        return socket.openMode();
      case 'isReadable':
        return socket.isReadable();
      case 'isWritable':
        return socket.isWritable();
      case 'bytesAvailable':
        return socket.bytesAvailable();
      case 'bytesToWrite':
        return socket.bytesToWrite();
      case 'atEnd':
        return socket.atEnd();
      case 'canReadLine':
        return socket.canReadLine();
      case 'readBufferSize':
        return socket.readBufferSize();
      case 'isTransactionStarted':
        return socket.isTransactionStarted();
      case 'localPort>0':
        return socket.localPort() > 0;
      case 'localAddress':
        return socket.localAddress().toString();
      case 'peerPort':
        return this.portName(socket.peerPort());
      case 'peerAddress':
        return socket.peerAddress().toString();
      case 'peerName':
        return socket.peerName();
      case 'socketDescriptor':
        return socket.socketDescriptor() === -1 ? 'invalid' : 'valid';
      case 'readChannelCount':
        return socket.readChannelCount();
      case 'writeChannelCount':
        return socket.writeChannelCount();
      case 'hasPendingDatagrams':
        return (socket as QUdpSocket).hasPendingDatagrams();
      case 'pendingDatagramSize':
        return (socket as QUdpSocket).pendingDatagramSize();
    }
    const ssl = socket as QSslSocket;
    switch (accessor) {
      case 'isEncrypted':
        return ssl.isEncrypted();
      case 'mode':
        return nameOf(SslMode, ssl.mode());
      case 'sslHandshakeErrors':
        return ssl.sslHandshakeErrors().map(errorName);
      case 'peerCertificate':
        return commonName(ssl.peerCertificate());
      case 'peerCertificateChain':
        return ssl.peerCertificateChain().map(commonName);
      case 'sessionProtocol':
        return nameOf(SslProtocol, ssl.sessionProtocol());
      case 'sessionCipher':
        return ssl.sessionCipher().name();
      case 'nextNegotiatedProtocol':
        return ssl.sslConfiguration().nextNegotiatedProtocol();
      case 'peerVerifyName':
        return ssl.peerVerifyName();
    }
    throw new Error(`unknown accessor ${accessor}`);
  }

  /** Makes a call that is not a wait; returns its canonical return value. */
  call(step: CallStep): Json {
    const socket = this.socket(step.socket);
    switch (step.call) {
      case 'connectToHost': {
        const [host, port, openMode] = step.args;
        socket.connectToHost(host, this.port(port), openMode ?? QAbstractSocket.OpenModeFlag.ReadWrite);
        return null;
      }
      case 'disconnectFromHost':
        socket.disconnectFromHost();
        return null;
      case 'abort':
        socket.abort();
        return null;
      case 'close':
        socket.close();
        return null;
      case 'write':
        return socket.write(dataBytes(step.args[0]));
      case 'putChar':
        return socket.putChar(step.args[0]);
      case 'flush':
        return socket.flush();
      case 'read':
        return bytesValue(socket.read(step.args[0]));
      case 'readAll':
        return bytesValue(socket.readAll());
      case 'readInto': {
        const target = new Uint8Array(Math.max(0, step.args[0]));
        const count = socket.readInto(target, step.args[0]);
        return { count, data: bytesValue(target.subarray(0, Math.max(0, count))) };
      }
      case 'readLineInto': {
        const target = new Uint8Array(Math.max(0, step.args[0]));
        const count = socket.readLineInto(target, step.args[0]);
        return { count, data: bytesValue(target.subarray(0, Math.max(0, count))) };
      }
      case 'readLine':
        return bytesValue(socket.readLine(step.args[0] ?? 0));
      case 'peek':
        return bytesValue(socket.peek(step.args[0]));
      case 'skip':
        return socket.skip(step.args[0]);
      case 'getChar':
        return socket.getChar() ?? false;
      case 'ungetChar':
        socket.ungetChar(step.args[0]);
        return null;
      case 'canReadLine':
        return socket.canReadLine();
      case 'bytesAvailable':
        return socket.bytesAvailable();
      case 'atEnd':
        return socket.atEnd();
      case 'startTransaction':
        socket.startTransaction();
        return null;
      case 'commitTransaction':
        socket.commitTransaction();
        return null;
      case 'rollbackTransaction':
        socket.rollbackTransaction();
        return null;
      case 'setReadBufferSize':
        socket.setReadBufferSize(step.args[0]);
        return null;
      case 'setSocketOption':
        socket.setSocketOption(SocketOption[step.args[0]], step.args[1]);
        return null;
      case 'bind': {
        const udp = this.udp(step.socket);
        if (step.args.length === 0) return udp.bind();
        const [address, port, mode] = step.args;
        return udp.bind(bindAddress(address), this.port(port), BindFlag[mode ?? 'DefaultForPlatform']);
      }
      case 'writeDatagram': {
        const [data, address, port] = step.args;
        return this.udp(step.socket).writeDatagram(dataBytes(data), new QHostAddress(address), this.port(port));
      }
      case 'readDatagram': {
        const [data, sender, port] = this.udp(step.socket).readDatagram(step.args[0]);
        return { data: bytesValue(data), sender: sender.toString(), port: this.portName(port) };
      }
      case 'receiveDatagram': {
        const datagram = this.udp(step.socket).receiveDatagram(step.args[0] ?? -1);
        return {
          valid: datagram.isValid(),
          data: bytesValue(datagram.data()),
          sender: datagram.senderAddress().toString(),
          senderPort: this.portName(datagram.senderPort()),
          destination: datagram.destinationAddress().toString(),
          destinationPort: this.portName(datagram.destinationPort()),
          hopLimit: datagram.hopLimit(),
        };
      }
      case 'hasPendingDatagrams':
        return this.udp(step.socket).hasPendingDatagrams();
      case 'pendingDatagramSize':
        return this.udp(step.socket).pendingDatagramSize();
      case 'connectToHostEncrypted': {
        const [host, port, peerName] = step.args;
        if (peerName === undefined) this.ssl(step.socket).connectToHostEncrypted(host, this.port(port));
        else this.ssl(step.socket).connectToHostEncrypted(host, this.port(port), peerName);
        return null;
      }
      case 'startClientEncryption':
        this.ssl(step.socket).startClientEncryption();
        return null;
      case 'ignoreSslErrors': {
        const ssl = this.ssl(step.socket);
        if (step.args.length === 0) ssl.ignoreSslErrors();
        else ssl.ignoreSslErrors(errorList(ssl, step.args[0]));
        return null;
      }
      case 'setPeerVerifyMode':
        this.ssl(step.socket).setPeerVerifyMode(PeerVerifyMode[step.args[0]]);
        return null;
      case 'addCaCertificate': {
        const ssl = this.ssl(step.socket);
        const configuration = ssl.sslConfiguration();
        configuration.addCaCertificates(QSslCertificate.fromData(this.scenario.caPem));
        ssl.setSslConfiguration(configuration);
        return null;
      }
      case 'setProtocol':
        this.ssl(step.socket).setProtocol(SslProtocol[step.args[0]]);
        return null;
      case 'setAllowedNextProtocols': {
        const ssl = this.ssl(step.socket);
        const configuration = ssl.sslConfiguration();
        configuration.setAllowedNextProtocols(step.args[0]);
        ssl.setSslConfiguration(configuration);
        return null;
      }
      case 'setPeerVerifyName':
        this.ssl(step.socket).setPeerVerifyName(step.args[0]);
        return null;
      case 'setPauseMode':
        socket.setPauseMode(PauseMode[step.args[0]]);
        return null;
      case 'resume':
        socket.resume();
        return null;
      case 'waitForConnected':
      case 'waitForReadyRead':
      case 'waitForBytesWritten':
      case 'waitForDisconnected':
      case 'waitForEncrypted':
        throw new Error(`${step.call} is a wait`);
    }
  }

  wait(step: CallStep): Promise<boolean> {
    const socket = this.socket(step.socket);
    const msecs = step.args[0] as number;
    switch (step.call) {
      case 'waitForConnected':
        return socket.waitForConnected(msecs);
      case 'waitForReadyRead':
        return socket.waitForReadyRead(msecs);
      case 'waitForBytesWritten':
        return socket.waitForBytesWritten(msecs);
      case 'waitForDisconnected':
        return socket.waitForDisconnected(msecs);
      case 'waitForEncrypted':
        return this.ssl(step.socket).waitForEncrypted(msecs);
      default:
        throw new Error(`${step.call} is not a wait`);
    }
  }

  /**
   * Runs the event loop for `ms`, or until `signal` on `socket` has been emitted `count` times, or
   * until `socket` is in `state`; true when it ended for that reason.
   */
  runLoop(ms: number, socket: Socket, signal: SignalName | undefined, count: number, state: StateName | undefined): Promise<boolean> {
    const inState = () => state !== undefined && nameOf(SocketState, socket.state()) === state;
    if (inState()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let seen = 0;
      const connections: Array<{ disconnect(): void }> = [];
      const finish = (reached: boolean) => {
        clearTimeout(timer);
        for (const connection of connections) connection.disconnect();
        resolve(reached);
      };
      const timer = setTimeout(() => finish(false), ms);
      if (signal !== undefined)
        connections.push(
          ((socket as unknown as Record<string, unknown>)[signal] as { connect(slot: () => void): { disconnect(): void } }).connect(() => {
            seen += 1;
            if (seen >= count) finish(true);
          }),
        );
      if (state !== undefined) connections.push(socket.stateChanged.connect(() => inState() && finish(true)));
    });
  }
}

/** QSslError(name, peerCertificate()) for each name. */
function errorList(socket: QSslSocket, names: readonly SslErrorName[]): QSslError[] {
  return names.map((name) => new QSslError(SslError[name], socket.peerCertificate()));
}

function bindAddress(address: BindAddress): QHostAddress {
  return typeof address === 'string' ? new QHostAddress(address) : new QHostAddress(QHostAddress[address.special]);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** Keeps this thread busy (no event loop) for `ms`. */
function holdThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Plays one scenario on a fresh gateway session; never throws (a failure is in the trace). */
export async function runOnSdk(scenario: PlannedScenario, gateway: Gateway): Promise<Trace> {
  const run = new Run(scenario, gateway);
  const warn = console.warn;
  console.warn = (message: unknown) => run.push({ step: run.step, warning: String(message), inside: run.inside });
  let failure: string | undefined;
  try {
    for (const [index, step] of scenario.steps.entries()) {
      run.step = index;
      if (isCall(step) && WAITS.includes(step.call)) {
        run.inside = true;
        const waiting = run.wait(step);
        // After the sends the SDK deferred to a microtask: they are out before the thread is held.
        if (step.hold !== undefined) queueMicrotask(() => holdThread(step.hold as number));
        const result = await waiting;
        run.inside = false;
        run.push({ step: index, returned: result });
      } else if (isCall(step)) {
        if (step.hold !== undefined) throw new Error('hold is for waits only');
        run.inside = true;
        const result = run.call(step);
        run.inside = false;
        run.push({ step: index, returned: result });
      } else if (isRun(step)) {
        const reached = await run.runLoop(step.run, run.socket(step.socket), step.until, step.count ?? 1, step.state);
        if (step.until !== undefined || step.state !== undefined) run.push({ step: index, returned: { reached } });
      } else {
        const socket = run.socket(step.socket);
        const values: Record<string, Json> = {};
        run.inside = true;
        for (const accessor of step.check) values[accessor] = run.accessor(socket, accessor);
        run.inside = false;
        run.push({ step: index, check: values });
      }
    }
  } catch (error) {
    failure = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } finally {
    run.recording = false;
    for (const socket of run.sockets.values()) socket.abort();
    console.warn = warn;
  }
  await settle();
  return { scenario: scenario.name, entries: run.entries, ...(failure === undefined ? {} : { failure }) };
}

/**
 * As a script: `sdk-runner.ts PLAN.json URL TOKEN` plays the plan's scenarios, each on a session of
 * its own with the gateway at URL, and prints one trace per line.
 */
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [planFile, url, token] = process.argv.slice(2);
  if (planFile === undefined || url === undefined || token === undefined) throw new Error('usage: sdk-runner.ts PLAN.json URL TOKEN');
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlannedScenario[];
  for (const scenario of plan) {
    const session = new Gateway(url, { token, WebSocket });
    process.stdout.write(`${JSON.stringify(await runOnSdk(scenario, session))}\n`);
    session.close();
  }
}
