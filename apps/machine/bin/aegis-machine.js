#!/usr/bin/env node
process.env.AEGIS_MACHINE_MAIN = '1';
await import('../dist/main.js');
