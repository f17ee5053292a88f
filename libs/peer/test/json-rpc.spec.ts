import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, RpcErrorCode } from '@aegis/protocol';
import { JsonRpcClient, RpcError, dispatchRequest, parseFrame, type EspctlHandlers } from '../src/json-rpc.js';

describe('JSON-RPC framing', () => {
  it('classifies frames and never throws', () => {
    expect(parseFrame('{')).toMatchObject({ kind: 'invalid', error: { code: RpcErrorCode.ParseError } });
    expect(parseFrame('[]')).toMatchObject({ kind: 'invalid', error: { code: RpcErrorCode.InvalidRequest } });
    expect(parseFrame('{"jsonrpc":"2.0","id":3}')).toMatchObject({ kind: 'invalid', id: 3 });
    expect(parseFrame('{"jsonrpc":"2.0","id":1,"method":"x"}').kind).toBe('request');
    expect(parseFrame('{"jsonrpc":"2.0","method":"log","params":{}}').kind).toBe('notification');
    expect(parseFrame('{"jsonrpc":"2.0","id":1,"result":5}').kind).toBe('response');
    expect(parseFrame('"' + 'a'.repeat(70_000) + '"')).toMatchObject({ error: { code: RpcErrorCode.FrameTooLarge } });
  });

  it('measures the frame limit in UTF-8 bytes, not characters', () => {
    // 30,000 characters of 3 bytes each: under the limit counted in characters, over it in bytes.
    const wide = '"' + '€'.repeat(30_000) + '"';
    expect(wide.length).toBeLessThan(MAX_FRAME_BYTES);
    expect(parseFrame(wide)).toMatchObject({ error: { code: RpcErrorCode.FrameTooLarge } });
    const fits = '"' + '€'.repeat(20_000) + '"';
    expect(parseFrame(fits)).toMatchObject({ kind: 'invalid', error: { code: RpcErrorCode.InvalidRequest } });
  });

  const handlers: EspctlHandlers = {
    'build.status': async () => ({ state: 'assigned', next_seq: 0 }),
    set_target: async () => {
      throw new RpcError(RpcErrorCode.BuildBusy, 'busy');
    },
    size: async () => {
      throw new Error('secret internal detail');
    },
  };
  const req = (method: string, params?: unknown) => ({ jsonrpc: '2.0' as const, id: 7, method, params });

  it('dispatches by method with validated params', async () => {
    expect(JSON.parse(await dispatchRequest(handlers, req('build.status', {})))).toMatchObject({
      id: 7,
      result: { state: 'assigned' },
    });
    expect(JSON.parse(await dispatchRequest(handlers, req('nope')))).toMatchObject({
      error: { code: RpcErrorCode.MethodNotFound },
    });
    expect(JSON.parse(await dispatchRequest(handlers, req('__proto__')))).toMatchObject({
      error: { code: RpcErrorCode.MethodNotFound },
    });
    expect(JSON.parse(await dispatchRequest(handlers, req('set_target', { target: 'esp99' })))).toMatchObject({
      error: { code: RpcErrorCode.InvalidParams },
    });
    expect(JSON.parse(await dispatchRequest(handlers, req('set_target', { target: 'esp32' })))).toMatchObject({
      error: { code: RpcErrorCode.BuildBusy, message: 'busy' },
    });
    const internal = JSON.parse(await dispatchRequest(handlers, req('size', {})));
    expect(internal.error.code).toBe(RpcErrorCode.Internal);
    expect(internal.error.message).not.toContain('secret');
  });

  it('client matches responses and validates results', async () => {
    const sent: string[] = [];
    const c = new JsonRpcClient(async (t) => void sent.push(t));
    const p = c.call('build.status', {});
    const bad = c.call('build.status', {});
    const ids = sent.map((s) => JSON.parse(s).id);
    c.handleText(JSON.stringify({ jsonrpc: '2.0', id: ids[1], result: { nope: 1 } }));
    c.handleText(JSON.stringify({ jsonrpc: '2.0', id: ids[0], result: { state: 'running', next_seq: 4 } }));
    await expect(p).resolves.toEqual({ state: 'running', next_seq: 4 });
    await expect(bad).rejects.toBeInstanceOf(RpcError);
    const notes: string[] = [];
    c.onNotification((m) => notes.push(m));
    c.handleText('{"jsonrpc":"2.0","method":"log","params":{}}');
    expect(notes).toEqual(['log']);
  });
});
