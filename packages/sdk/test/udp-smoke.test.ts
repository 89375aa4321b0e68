import dgram from 'node:dgram';
import { QUdpSocket } from '@socketgate/sdk';
import { nextSignal, startGateway, text } from '@socketgate/testkit';
import { expect, it, onTestFinished } from 'vitest';

it('echoes a datagram through the gateway', async () => {
  const server = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  server.on('message', (msg, from) => server.send(msg, from.port, from.address));
  onTestFinished(() => {
    server.close();
  });
  const gw = await startGateway();
  onTestFinished(() => gw.close());
  const socket = new QUdpSocket({ gateway: gw.client() });
  expect(socket.writeDatagram('ping', '127.0.0.1', server.address().port)).toBe(4);
  await nextSignal(socket.readyRead);
  const [data, host, port] = socket.readDatagram();
  expect(text(data)).toBe('ping');
  // The implicit bind is dual-stack, as Qt's: an IPv4 sender reads IPv4-mapped.
  expect(host.toString()).toBe('::ffff:127.0.0.1');
  expect(port).toBe(server.address().port);
  expect(socket.state()).toBe(4);
  expect(socket.localPort()).toBeGreaterThan(0);
});
