import { QAbstractSocket, QTcpSocket } from '@socketgate/sdk';
import { type RunningGateway, startGateway, type TestServer } from '@socketgate/testkit';
import { onTestFinished } from 'vitest';

/** A gateway for one test, stopped when it finishes, and a factory of sockets on one session. */
export async function gatewayForTest(options: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway & { socket(): QTcpSocket }> {
  const gw = await startGateway(options);
  onTestFinished(() => gw.close());
  const session = gw.client();
  return Object.assign(gw, { socket: () => new QTcpSocket({ gateway: session }) });
}

/** Stops `server` when the test finishes, and returns it. */
export function stopAfter<T extends TestServer | { close(): Promise<void> }>(server: T): T {
  onTestFinished(() => server.close());
  return server;
}

/** Silences Qt's warnings for this test and returns what was warned. */
export function captureWarnings(): string[] {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (message: unknown) => warnings.push(String(message));
  onTestFinished(() => {
    console.warn = original;
  });
  return warnings;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const bytes = (text: string) => new TextEncoder().encode(text);
export const { UnconnectedState, HostLookupState, ConnectingState, ConnectedState, ClosingState } = QAbstractSocket.SocketState;
