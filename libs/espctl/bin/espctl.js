#!/usr/bin/env node
// espctl: the built CLI lives in dist/ (npx tsc -b libs/espctl/tsconfig.build.json).
await import('../dist/cli/main.js');
