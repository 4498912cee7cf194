# runledger gateway image: build stage compiles TypeScript and the static protobuf code,
# runtime stage carries only production dependencies and runs as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY scripts ./scripts
COPY src ./src
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RUNLEDGER_HTTP_HOST=0.0.0.0 \
    RUNLEDGER_GRPC_HOST=0.0.0.0 \
    RUNLEDGER_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY sql ./sql
RUN useradd --system --uid 10001 --home-dir /app runledger && mkdir -p /data && chown runledger /data
USER runledger
VOLUME ["/data"]
EXPOSE 4317 4318
# Set DATABASE_URL to use an external PostgreSQL; without it an embedded one keeps its data in /data.
CMD ["node", "dist/src/cli.js", "serve"]
