// The Node entry point: everything in the browser entry, plus werift connections, the machine's file sending and
// the signaling client.
export * from './browser.js';
export * from './werift-channel.js';
export * from './file-transfer.js';
export * from './rtc-config.js';
export * from './sse.js';
export * from './gather.js';
export * from './signaling-client.js';
export * from './session.js';
export * from './dtls-keys.js';
