import type { NextConfig } from 'next';
import { fileURLToPath } from 'node:url';

// The monorepo root, so Turbopack resolves the hoisted node_modules and our workspace packages.
const root = fileURLToPath(new URL('../..', import.meta.url));

// Everything comes from this origin: no CDN, no external font, no third-party script can load. Next's hydration
// needs inline scripts; WebRTC is not governed by connect-src.
const csp = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = [
  { key: 'Content-Security-Policy', value: csp },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Permissions-Policy', value: 'serial=(self), camera=(), microphone=(), geolocation=()' },
];

const config: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root },
  // `next build` checks the app only; the tests are type-checked by `tsc -p apps/web/tsconfig.json` (npm test).
  typescript: { tsconfigPath: 'tsconfig.next.json' },
  outputFileTracingRoot: root,
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
};

export default config;
