import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@socketgate/gateway';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { layerSettings, readConfigFile } from '../src/load-config.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

interface Service {
  command?: string[];
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  image?: string;
  build?: string | { context: string; target: string };
  environment?: Record<string, string>;
  depends_on?: string[];
}
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const startScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start ?? '';

describe('the container and the compose file', () => {
  it("start the gateway with the package's own bin, on built code, as `pnpm start` does", () => {
    const gatewayPackage = JSON.parse(read('apps/gateway/package.json')) as { bin: Record<string, string> };
    const bin = (gatewayPackage.bin.socketgate ?? '').replace(/^\.\//, '');
    expect(bin).toBe('bin/socketgate.js');
    expect(read(`apps/gateway/${bin}`)).toMatch(/^import '\.\.\/dist\/cli\.js';$/m);
    // pnpm start: build, then the bin (from the workspace root).
    expect(startScript.split(' && ').at(-1)).toBe(`node apps/gateway/${bin} --demo`);
    // The image runs the deployed package from its own folder.
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    const entry = ['node', bin];
    expect(JSON.parse(cmd ?? '[]').slice(0, 2)).toEqual(entry);
    for (const name of ['gateway', 'gateway-1', 'gateway-2']) {
      const service = compose.services[name] as Service;
      expect(service.command?.slice(0, 2), name).toEqual(entry);
      expect(service.command?.slice(2), name).toEqual(['--config', '/etc/socketgate/gateway.yaml']);
      expect(service.volumes, name).toContain('./deploy/gateway.yaml:/etc/socketgate/gateway.yaml:ro');
    }
  });

  it('run as a non-root user with a health check on /healthz', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/healthz/m);
  });

  it('mount a config the gateway accepts, listening on the port the compose file publishes, allowing the example targets', () => {
    const config = parseConfig(readConfigFile(`${root}deploy/gateway.yaml`));
    expect(config.host).toBe('0.0.0.0');
    expect(compose.services.gateway?.ports).toEqual([`127.0.0.1:${config.port}:${config.port}`]);
    const tcp = compose.services['tcp-echo']?.command?.join(' ') ?? '';
    const udp = compose.services['udp-echo']?.command?.join(' ') ?? '';
    expect(tcp).toContain('TCP-LISTEN:7007');
    expect(udp).toContain('UDP-RECVFROM:9000');
    expect(config.allow).toEqual(['172.28.0.0/16:7007,9000']);
  });

  it('serve the web terminal, built in the Dockerfile, from an origin the mounted config accepts', () => {
    const terminal = compose.services.terminal as Service;
    expect(terminal.build).toEqual({ context: '.', target: 'terminal' });
    expect(read('Dockerfile')).toMatch(/^FROM nginx:[\w.-]+ AS terminal$/m);
    expect(read('Dockerfile')).toMatch(/^RUN node_modules\/\.bin\/vite build apps\/terminal$/m);
    const [published] = terminal.ports ?? [];
    const port = /^127\.0\.0\.1:(\d+):80$/.exec(published ?? '')?.[1];
    const config = parseConfig(readConfigFile(`${root}deploy/gateway.yaml`));
    expect(config.origins).toContain(`http://127.0.0.1:${port}`);
  });

  it('offer an upstream SOCKS5 proxy and a scaled-out pair behind nginx as profiles', () => {
    expect(compose.services.socks5?.profiles).toEqual(['proxy']);
    for (const name of ['gateway-1', 'gateway-2', 'nginx']) expect(compose.services[name]?.profiles, name).toEqual(['scale']);
    const nginx = read('deploy/nginx.conf');
    expect(nginx).toContain('server gateway-1:8080;');
    expect(nginx).toContain('server gateway-2:8080;');
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
    expect(compose.services.nginx?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  it("let the scaled-out pair count clients by nginx's X-Forwarded-For, believing nginx only", () => {
    const nginx = compose.services.nginx as Service & { networks?: Record<string, { ipv4_address?: string }> };
    const address = nginx.networks?.socketgate?.ipv4_address;
    expect(address).toMatch(/^172\.28\./);
    for (const name of ['gateway-1', 'gateway-2']) {
      const environment = compose.services[name]?.environment ?? {};
      expect(environment.SOCKETGATE_TRUST_PROXY, name).toBe(address);
      const config = parseConfig(layerSettings(readConfigFile(`${root}deploy/gateway.yaml`), environment, new Map()));
      expect(config.trustProxy, name).toEqual([address]);
    }
    expect(compose.services.gateway?.environment?.SOCKETGATE_TRUST_PROXY).toBeUndefined();
    expect(read('deploy/nginx.conf')).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  it('let the scaled-out pair share tickets and session limits through one Redis of the profile', () => {
    expect(compose.services.redis?.profiles).toEqual(['scale']);
    expect(compose.services.redis?.command?.slice(0, 1)).toEqual(['redis-server']);
    for (const name of ['gateway-1', 'gateway-2']) {
      const service = compose.services[name] as Service;
      const url = service.environment?.SOCKETGATE_STORE_REDIS ?? '';
      const raw = layerSettings(readConfigFile(`${root}deploy/gateway.yaml`), { SOCKETGATE_STORE_REDIS: url }, new Map());
      expect(parseConfig(raw).store.redis, name).toBe('redis://redis:6379/0');
      expect(service.depends_on, name).toContain('redis');
    }
  });
});
