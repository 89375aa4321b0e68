# socketgate gateway image: multi-stage, small runtime, non-root, with a health check.
# Build: docker build -t socketgate .   Run: docker run -p 8080:8080 -v ./deploy/gateway.yaml:/etc/socketgate/gateway.yaml:ro socketgate

# The web terminal, built with Vite and served by nginx: `docker build --target terminal .`
FROM node:20-bookworm-slim AS terminal-build
WORKDIR /app
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/testkit/package.json packages/testkit/
COPY apps/gateway/package.json apps/gateway/
COPY apps/terminal/package.json apps/terminal/
RUN corepack pnpm install --frozen-lockfile --filter @socketgate/terminal... --filter socketgate
COPY tsconfig.base.json ./
COPY packages/protocol packages/protocol
COPY packages/sdk packages/sdk
COPY apps/terminal apps/terminal
RUN node_modules/.bin/vite build apps/terminal

FROM nginx:1.27-alpine AS terminal
COPY --from=terminal-build /app/apps/terminal/dist /usr/share/nginx/html

# The gateway (the default target: the last stage). The build stage builds the packages and
# deploys the gateway with its production dependencies only (no TypeScript, no tsx) into /out;
# apps/gateway/test/image.test.ts runs these same steps without a Docker engine.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/testkit/package.json packages/testkit/
COPY apps/gateway/package.json apps/gateway/
COPY apps/terminal/package.json apps/terminal/
RUN corepack pnpm install --frozen-lockfile --filter @socketgate/gateway... --filter socketgate
COPY tsconfig.base.json ./
COPY packages/protocol packages/protocol
COPY apps/gateway apps/gateway
RUN node_modules/.bin/tsc -b apps/gateway
RUN corepack pnpm --filter @socketgate/gateway deploy --prod --legacy /out

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=root:root /out /app
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The package's own bin, on built code; the settings come from a mounted file.
CMD ["node", "bin/socketgate.js", "--config", "/etc/socketgate/gateway.yaml"]
