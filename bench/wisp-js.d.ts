/**
 * The few parts of @mercuryworkshop/wisp-js (which ships no types) that the benchmark and the
 * gateway's Wisp tests use: the server's options and upgrade handler, and the client's connection,
 * streams and extensions.
 */
declare module '@mercuryworkshop/wisp-js/server' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';

  export const server: {
    /** Global server options (src/server/options.mjs): destination filters, limits, Wisp version. */
    options: Record<string, unknown>;
    /** Upgrades an HTTP request to a Wisp connection (a path ending in "/") or to wsproxy. */
    routeRequest(request: IncomingMessage, socket: Duplex, head: Buffer, options?: object): void;
  };
  export const logging: {
    readonly DEBUG: number;
    readonly INFO: number;
    readonly WARN: number;
    readonly ERROR: number;
    readonly NONE: number;
    set_level(level: number): void;
  };
}

declare module '@mercuryworkshop/wisp-js/client' {
  import type { WebSocket } from 'ws';

  export interface WispStream {
    readonly stream_id: number;
    /** Packets the server still accepts before the next CONTINUE (Wisp counts packets, not bytes). */
    buffer_size: number;
    /** Data held by the client while the server's credit is used up. */
    send_buffer: Uint8Array[];
    open: boolean;
    onmessage: (bytes: Uint8Array) => void;
    onclose: (reason: number) => void;
    send(bytes: Uint8Array): void;
    close(reason?: number): void;
  }

  /** A Wisp v2 extension as the client offers it (src/extensions.mjs). */
  export interface WispExtension {
    readonly id: number;
  }

  export interface WispConnection {
    /** In Node, a `ws` WebSocket (the package's compat layer imports it). */
    ws: WebSocket;
    connected: boolean;
    udp_enabled: boolean;
    /** The server's message of the day (v2, the MOTD extension), or null. */
    server_motd: string | null | undefined;
    onopen: () => void;
    onclose: () => void;
    onerror: () => void;
    create_stream(hostname: string, port: number, type?: 'tcp' | 'udp'): WispStream;
    close(): void;
  }

  export const client: {
    ClientConnection: new (url: string, options?: { wisp_version?: number; wisp_extensions?: WispExtension[] }) => WispConnection;
  };

  export const extensions: {
    UDPExtension: new (options: { client_config: Record<string, never> }) => WispExtension;
    MOTDExtension: new (options: { client_config: Record<string, never> }) => WispExtension;
    PasswordAuthExtension: new (options: { client_config: { username: string; password: string } }) => WispExtension;
  };
}
