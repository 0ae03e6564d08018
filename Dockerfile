# caption-bridge container: Node LTS on Debian bookworm, the embedded pocketsphinx engine from Debian.
# Every RUN step is a command CI also runs on a plain Debian machine (scripts/setup, npm ci, npm run build).
#   docker run --stop-timeout 20 -p 8080:8080 -e INGEST_TOKEN=$(openssl rand -hex 24) caption-bridge
# --stop-timeout: longer than the bridge's shutdown flush (shutdown.flushSeconds, 10 s by default); Docker's own default is 10 s, so a plain
# `docker stop` would SIGKILL it while the last captions are still on their way to Zoom.
# Your own config: -v $PWD/my.yaml:/etc/caption-bridge.yaml:ro and `--config /etc/caption-bridge.yaml` after the
# image name; state (seq, transcripts, caption page history) lives in the /var/lib/caption-bridge volume.

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/setup ./scripts/setup
RUN scripts/setup --runtime && rm -rf /var/lib/apt/lists/* && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
COPY public ./public
COPY assets ./assets
ENV NODE_ENV=production \
    HTTP_HOST=0.0.0.0 \
    STATE_DIR=/var/lib/caption-bridge
RUN mkdir -p /var/lib/caption-bridge && chown node:node /var/lib/caption-bridge
VOLUME /var/lib/caption-bridge
USER node
EXPOSE 8080 1935
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["--config", "config/caption-bridge.yaml"]
