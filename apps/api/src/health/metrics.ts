import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of this instance (its own registry, so tests can boot several apps in one process). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly grantsIssued = new Counter({
    name: 'aegis_grants_issued_total',
    help: 'Grants issued',
    registers: [this.registry],
  });
  readonly longPollsOpen = new Gauge({
    name: 'aegis_long_polls_open',
    help: 'Machine long-polls waiting',
    registers: [this.registry],
  });
  readonly wakeups = new Counter({
    name: 'aegis_listen_wakeups_total',
    help: 'PostgreSQL NOTIFY wake-ups received from any instance',
    labelNames: ['topic'],
    registers: [this.registry],
  });
  readonly listenReconnects = new Counter({
    name: 'aegis_listen_reconnects_total',
    help: 'Times the PostgreSQL LISTEN connection was re-established after it was lost',
    registers: [this.registry],
  });
  readonly sseOpen = new Gauge({
    name: 'aegis_sse_streams_open',
    help: 'Signaling SSE streams open',
    registers: [this.registry],
  });
  readonly jobsByState = new Gauge({
    name: 'aegis_jobs',
    help: 'Jobs by state (whole database)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  readonly httpLatency = new Histogram({
    name: 'aegis_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
