import { createGateway, type GatewayOptions } from '@socketgate/gateway';
import { Gateway, type GatewayOptions as SdkGatewayOptions } from '@socketgate/sdk';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';

export const TEST_TOKEN = 'test-token-0123456789';

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  token: string;
  /** A new SDK session with this gateway (Node's WebSocket from the ws package). */
  client(options?: Partial<SdkGatewayOptions>): Gateway;
  close(): Promise<void>;
}

/**
 * Starts an in-process gateway on 127.0.0.1:0 that may reach loopback only, with /metrics on its
 * main port (for loopback) unless `metricsPort` says otherwise, so that gateways never share a port.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<RunningGateway> {
  const app = await createGateway({
    tokens: [TEST_TOKEN],
    allow: ['127.0.0.1/32', '[::1]', 'localhost'],
    metricsPort: 0,
    ...options,
    host: '127.0.0.1',
    port: 0,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `${address.replace(/^http/, 'ws')}/v1/socket`;
  const clients: Gateway[] = [];
  return {
    app,
    url,
    token: TEST_TOKEN,
    client(clientOptions = {}) {
      const gateway = new Gateway(url, {
        token: TEST_TOKEN,
        WebSocket: WebSocket,
        ...clientOptions,
      });
      clients.push(gateway);
      return gateway;
    },
    async close() {
      for (const client of clients) client.close();
      await app.close();
    },
  };
}
