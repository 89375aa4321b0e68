import * as z from 'zod';
import { GW_ERR_CONFIG_INVALID } from './errors.js';
import { parseAllowRule } from './policy.js';

const MiB = 1024 * 1024;

/** Every gateway setting, with its default. One schema for the CLI, config files and embedding. */
export const GatewayConfig = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
  port: z.int().min(0).max(65535).default(8080).describe('port to listen on; 0 picks a free port'),
  tokens: z.array(z.string().min(8, 'tokens must be at least 8 characters')).default([]).describe('static tokens accepted in hello'),
  allow: z
    .array(
      z.string().superRefine((rule, ctx) => {
        try {
          parseAllowRule(rule);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    )
    .default([])
    .describe('egress allow-list: CIDR[:ports] or host[:ports]; nothing else is reached'),
  allowPorts: z
    .array(z.int().min(0).max(65535))
    .default([])
    .describe("ports of the Fetch standard's bad-port list (25, 22, 6667, …) to allow anyway"),
  dnsServers: z
    .array(z.string().min(1))
    .default([])
    .describe('DNS servers (host or host:port) the gateway asks instead of the system resolver'),
  connectTimeoutMs: z.int().min(1).max(600_000).default(30_000).describe('per-address connect timeout, as Qt'),
  helloTimeoutMs: z.int().min(1).max(600_000).default(5_000).describe('time a new session has to send hello'),
  uploadWindowBytes: z
    .int()
    .min(1024)
    .max(256 * MiB)
    .default(MiB)
    .describe('unwritten bytes a stream may send ahead (at least 128 KiB, two full datagrams)'),
  maxMessageBytes: z
    .int()
    .min(1024)
    .max(64 * MiB)
    .default(MiB)
    .describe('largest WebSocket message accepted'),
  sessionBufferBytes: z
    .int()
    .min(64 * 1024)
    .max(1024 * MiB)
    .default(8 * MiB)
    .describe('WebSocket send buffer per session before reading pauses'),
  maxStreamsPerSession: z.int().min(1).max(1_000_000).default(4096).describe('streams one session may hold open'),
  maxDatagramBytes: z.int().min(1).max(65527).default(65507).describe('largest UDP payload sent (65507 fits IPv4)'),
  udpQueueBytes: z
    .int()
    .min(0)
    .max(64 * MiB)
    .default(256 * 1024)
    .describe('datagrams held per UDP socket for a client out of credit; more are dropped'),
  udpInbound: z
    .enum(['replies', 'any'])
    .default('replies')
    .describe('deliver datagrams only from peers the socket has sent to, or from any'),
  allowMulticast: z.boolean().default(false).describe('let UDP sockets join multicast groups'),
});
export type GatewayConfig = z.infer<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

/** Validates settings, naming every bad field. */
export function parseConfig(input: unknown): GatewayConfig {
  const result = GatewayConfig.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
  throw new GW_ERR_CONFIG_INVALID(problems.join('; '));
}
