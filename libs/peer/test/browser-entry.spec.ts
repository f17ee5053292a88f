import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PEER, browserProblems } from './import-graph.js';

describe('the browser entry of libs/peer', () => {
  it('is what package.json exports as ./browser', () => {
    const pkg = JSON.parse(readFileSync(join(PEER, 'package.json'), 'utf8')) as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['./browser'].default).toBe('./dist/browser.js');
    // Only named entry points: a wildcard would let a bundler reach the werift modules by path.
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './browser', './rtc-base']);
  });

  it('reaches no Node built-in, no werift and no Node global, however deep', () => {
    const { files, problems } = browserProblems(join(PEER, 'src/browser.ts'));
    expect(problems).toEqual([]);
    // The walk really went through the clients and into libs/protocol.
    expect(files).toEqual(
      expect.arrayContaining([
        'libs/peer/src/espctl-client.ts',
        'libs/peer/src/firmware-client.ts',
        'libs/peer/src/limited-sender.ts',
        'libs/protocol/src/index.ts',
      ]),
    );
  });

  it('would catch a Node-only module (the check can fail)', () => {
    expect(browserProblems(join(PEER, 'src/index.ts')).problems).toEqual(
      expect.arrayContaining([
        'libs/peer/src/werift-channel.ts imports werift (Node-only)',
        'libs/peer/src/file-transfer.ts imports node:crypto',
      ]),
    );
  });
});
