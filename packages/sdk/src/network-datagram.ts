import { QHostAddress } from './host-address.js';

const encoder = new TextEncoder();

/** Qt's `QNetworkDatagram`: a datagram's payload with its sender and destination. */
export class QNetworkDatagram {
  #data: Uint8Array;
  #sender = new QHostAddress();
  #senderPort = -1;
  #destination = new QHostAddress();
  #destinationPort = -1;
  #hopLimit = -1;
  #interfaceIndex = 0;

  constructor(data: Uint8Array | string = new Uint8Array(0), destination?: QHostAddress | string, port = 0) {
    this.#data = typeof data === 'string' ? encoder.encode(data) : data;
    if (destination !== undefined) this.setDestination(destination, port);
  }

  data(): Uint8Array {
    return this.#data;
  }
  setData(data: Uint8Array | string): void {
    this.#data = typeof data === 'string' ? encoder.encode(data) : data;
  }
  senderAddress(): QHostAddress {
    return new QHostAddress(this.#sender);
  }
  /** The sender's port, -1 when unset. */
  senderPort(): number {
    return this.#senderPort;
  }
  setSender(address: QHostAddress | string, port = 0): void {
    this.#sender = new QHostAddress(address);
    this.#senderPort = port;
  }
  destinationAddress(): QHostAddress {
    return new QHostAddress(this.#destination);
  }
  /** The destination port, -1 when unset. */
  destinationPort(): number {
    return this.#destinationPort;
  }
  setDestination(address: QHostAddress | string, port: number): void {
    this.#destination = new QHostAddress(address);
    this.#destinationPort = port;
  }
  /** -1: unknown (the gateway does not report received hop limits). */
  hopLimit(): number {
    return this.#hopLimit;
  }
  setHopLimit(count: number): void {
    this.#hopLimit = count;
  }
  interfaceIndex(): number {
    return this.#interfaceIndex;
  }
  setInterfaceIndex(index: number): void {
    this.#interfaceIndex = index;
  }
  /** Valid when a sender or a destination address is set (an empty payload is fine). */
  isValid(): boolean {
    return !this.#sender.isNull() || !this.#destination.isNull();
  }
  isNull(): boolean {
    return !this.isValid();
  }
  clear(): void {
    this.#data = new Uint8Array(0);
    this.#sender = new QHostAddress();
    this.#senderPort = -1;
    this.#destination = new QHostAddress();
    this.#destinationPort = -1;
    this.#hopLimit = -1;
    this.#interfaceIndex = 0;
  }

  /** A reply: sender and destination swapped, a multicast destination dropped as source, hop limit reset. */
  makeReply(payload: Uint8Array | string): QNetworkDatagram {
    const reply = new QNetworkDatagram(payload);
    reply.setDestination(this.#sender, this.#senderPort);
    const source = this.#destination.toString();
    const multicast = /^(22[4-9]|23\d)\./.test(source) || source.toLowerCase().startsWith('ff');
    if (!multicast && !this.#destination.isNull()) reply.setSender(this.#destination, this.#destinationPort);
    reply.setInterfaceIndex(this.#interfaceIndex);
    return reply;
  }
}
