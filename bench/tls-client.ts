/**
 * The TLS download client, a process of its own: `tls-client.ts PATH JSON-OPTIONS`. PATH is raw
 * (node:tls straight to the target: the ceiling) or socketgate (the SDK's QSslSocket through the
 * gateway, which does the TLS). Both trust the test CA, ask for `bytes` and time them to the close.
 * Prints one JSON line with the measurement.
 */
import tls from 'node:tls';
import { Gateway, QSslCertificate, QSslSocket } from '@socketgate/sdk';
import { WebSocket } from 'ws';

interface Options {
  port: number;
  ca: string;
  bytes: number;
  gateway?: string;
  token?: string;
}

const [path = 'raw', json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json) as Options;

function raw(): Promise<{ received: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let start = 0;
    const socket = tls.connect({ host: '127.0.0.1', port: options.port, servername: 'localhost', ca: options.ca }, () => {
      start = performance.now();
      socket.write(`${options.bytes}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
    });
    socket.on('end', () => resolve({ received, seconds: (performance.now() - start) / 1000 }));
    socket.on('error', reject);
  });
}

function socketgate(): Promise<{ received: number; seconds: number }> {
  const gateway = new Gateway(options.gateway as string, { token: options.token as string, WebSocket });
  const socket = new QSslSocket({ gateway });
  const configuration = socket.sslConfiguration();
  configuration.addCaCertificates(QSslCertificate.fromData(options.ca));
  socket.setSslConfiguration(configuration);
  return new Promise((resolve, reject) => {
    let received = 0;
    let start = 0;
    socket.encrypted.connect(() => {
      start = performance.now();
      socket.write(`${options.bytes}\n`);
    });
    socket.readyRead.connect(() => {
      received += socket.readAll().byteLength;
    });
    socket.disconnected.connect(() => {
      const seconds = (performance.now() - start) / 1000;
      gateway.close();
      resolve({ received, seconds });
    });
    socket.errorOccurred.connect(() => {
      if (socket.error() !== QSslSocket.RemoteHostClosedError) reject(new Error(socket.errorString()));
    });
    socket.connectToHostEncrypted('localhost', options.port);
  });
}

const { received, seconds } = await (path === 'socketgate' ? socketgate() : raw());
console.log(JSON.stringify({ mbPerSecond: received / 1e6 / seconds, arrived: received === options.bytes, received }));
