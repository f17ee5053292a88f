# One image for every Aegis program; the command picks which one runs (see docker-compose.yml).
FROM node:20-bookworm AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b tsconfig.build.json && NEXT_TELEMETRY_DISABLED=1 npm run build -w apps/web

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap git python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 SCARF_ANALYTICS=false
USER node
CMD ["node", "apps/api/dist/main.js"]
