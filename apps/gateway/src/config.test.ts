import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';

describe('parseConfig', () => {
  it('fills every default', () => {
    expect(parseConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      tokens: [],
      allow: [],
      allowPorts: [],
      tls: { caFiles: [], allowIgnoreErrors: true, clientCertificates: false, decisionTimeoutMs: 15_000, required: [] },
      nameResolver: 'dns',
      dnsServers: [],
      dnsTimeoutMs: 5_000,
      maxLookups: 256,
      maxLookupsPerSession: 8,
      dnsCacheEntries: 4096,
      dnsMaxTtlSec: 300,
      dnsDefaultTtlSec: 30,
      dnsNegativeTtlSec: 5,
      clientProxies: false,
      connectTimeoutMs: 30_000,
      helloTimeoutMs: 5_000,
      uploadWindowBytes: 1024 * 1024,
      maxMessageBytes: 1024 * 1024,
      sessionBufferBytes: 8 * 1024 * 1024,
      sessionUploadBytes: 8 * 1024 * 1024,
      closeTimeoutMs: 2_000,
      handshakeTimeoutMs: 10_000,
      pingIntervalMs: 30_000,
      tcpKeepAliveMs: 60_000,
      maxConnectionsPerAddress: 512,
      maxPendingSessionsPerAddress: 16,
      metricsPublic: false,
      trustProxy: [],
      log: { level: 'info', format: 'auto' },
      incrementalMarking: false,
      drainGraceMs: 30_000,
      metricsHost: '127.0.0.1',
      metricsPort: 9464,
      maxStreamsPerSession: 4096,
      maxDatagramBytes: 65507,
      udpQueueBytes: 256 * 1024,
      udpInbound: 'replies',
      allowMulticast: false,
      wisp: { bufferPackets: 128, udp: true },
      websockify: {},
      origins: [],
      store: { keyPrefix: 'socketgate:', slotTtlMs: 30_000, timeoutMs: 2000 },
      maxSessionsPerCredential: 64,
      maxSessionsPerAddress: 256,
      maxOpensPerSecond: 200,
      maxProtocolErrorsPerSecond: 100,
      maxControlMessagesPerSecond: 2000,
      streamIdleTimeoutMs: 300_000,
      sessionIdleTimeoutMs: 600_000,
    });
  });

  it('checks the JWT settings: one key, and algorithms that fit it', () => {
    expect(() => parseConfig({ jwt: { algorithms: ['HS256'], audience: 'gw' } })).toThrow(
      /jwt: give exactly one of secret, publicKeyFile or jwksFile/,
    );
    expect(() => parseConfig({ jwt: { secret: 'x'.repeat(32), algorithms: ['ES256'], audience: 'gw' } })).toThrow(
      /jwt\.algorithms: HS\* algorithms go with a secret/,
    );
    expect(() => parseConfig({ jwt: { secret: 'short', algorithms: ['HS256'], audience: 'gw' } })).toThrow(/at least 32 characters/);
    expect(parseConfig({ jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'], audience: 'gw' } }).jwt).toMatchObject({
      clockToleranceSec: 5,
      requireJti: false,
    });
  });

  it('takes a redis:// or rediss:// URL for the shared store, nothing else', () => {
    expect(parseConfig({ store: { redis: 'redis://:pw@127.0.0.1:6379/0' } }).store.redis).toBe('redis://:pw@127.0.0.1:6379/0');
    expect(parseConfig({ store: { redis: 'rediss://redis.example.org:6380' } }).store.redis).toBe('rediss://redis.example.org:6380');
    expect(() => parseConfig({ store: { redis: 'http://127.0.0.1:6379' } })).toThrow(/store\.redis: must be redis:\/\//);
    expect(() => parseConfig({ store: { redis: '127.0.0.1:6379' } })).toThrow(/store\.redis: must be redis:\/\//);
  });

  it('refuses dnsServers with the system resolver, which never asks them', () => {
    expect(() => parseConfig({ nameResolver: 'system', dnsServers: ['127.0.0.1:5353'] })).toThrow(
      /dnsServers: dnsServers are asked by the dns resolver only/,
    );
    expect(parseConfig({ nameResolver: 'system' }).nameResolver).toBe('system');
  });

  it("refuses a session upload bound smaller than one stream's window", () => {
    expect(() => parseConfig({ uploadWindowBytes: 16 * 1024 * 1024 })).toThrow(/sessionUploadBytes: must be at least uploadWindowBytes/);
    expect(parseConfig({ uploadWindowBytes: 16 * 1024 * 1024, sessionUploadBytes: 32 * 1024 * 1024 }).sessionUploadBytes).toBe(
      32 * 1024 * 1024,
    );
  });

  it('names every bad field and why', () => {
    expect(() => parseConfig({ port: 70000, tokens: ['short'], allow: ['127.0.0.1:99999'], bogus: 1 })).toThrow(
      /GW_ERR_CONFIG_INVALID|Invalid gateway configuration/,
    );
    try {
      parseConfig({ port: 70000, tokens: ['short'], allow: ['127.0.0.1:99999'], bogus: 1 });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/port: .*65535/);
      expect(message).toMatch(/tokens\.0: tokens must be at least 8 characters/);
      expect(message).toMatch(/allow\.0: Invalid --allow rule "127\.0\.0\.1:99999"/);
      expect(message).toMatch(/bogus/);
      expect((error as { code?: string }).code).toBe('GW_ERR_CONFIG_INVALID');
    }
  });
});
