# Aegis images: `app` runs the control API or the dashboard (the command picks which), `machine` a build machine.
# See docker-compose.yml and docs/OPERATIONS.md.
FROM node:20-bookworm AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npx tsc -b tsconfig.build.json && NEXT_TELEMETRY_DISABLED=1 npm run build -w apps/web

FROM node:20-bookworm-slim AS app
WORKDIR /app
COPY --from=build /src /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 SCARF_ANALYTICS=false
USER node
CMD ["node", "apps/api/dist/main.js"]

# The build machine runs as root (one unprivileged uid per job, bwrap, loop-mounted workspace quotas, cgroups).
# KIT_PACKAGES bakes in the ESP-IDF kit's run-time packages (its apt-packages.txt); without it the entrypoint installs
# them at the first start (scripts/system-packages.sh), which needs a Debian mirror.
FROM node:20-bookworm-slim AS machine
ARG KIT_PACKAGES=""
RUN apt-get update \
  && apt-get install -y --no-install-recommends bubblewrap util-linux iproute2 ccache e2fsprogs git python3 $KIT_PACKAGES \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src /app
ENV NODE_ENV=production SCARF_ANALYTICS=false AEGIS_IDF_KIT=/kit
ENTRYPOINT ["/app/deploy/machine-entrypoint.sh"]
CMD ["node", "apps/machine/dist/main.js", "--sandbox=bwrap"]
