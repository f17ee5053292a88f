/**
 * The browser entry point (`@aegis/peer/browser`): the channel clients and what they need, with web-platform
 * globals only — no werift, no Node built-ins, no Buffer. test/browser-entry.spec.ts walks this import graph and
 * fails on anything Node-only. The dashboard sets up its RTCPeerConnection itself and wraps its data channels
 * with wrapBrowserDataChannel.
 */
export * from './bytes.js';
export * from './token-bucket.js';
export * from './channel.js';
export * from './browser-channel.js';
export * from './limited-sender.js';
export * from './json-rpc.js';
export * from './file-receiver.js';
export * from './sdp.js';
export * from './errors.js';
export * from './grant-claims.js';
export * from './espctl-client.js';
export * from './firmware-client.js';
export * from './pty-client.js';
export * from './emulator-client.js';
