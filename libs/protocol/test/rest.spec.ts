import { describe, expect, it } from 'vitest';
import { CreateUserBody, CreateWebhookBody, JobListQuery, SignalingEvent } from '../src/index.js';

describe('rest schemas', () => {
  it('create user defaults the role and refuses unknown fields', () => {
    expect(CreateUserBody.parse({ name: 'ada' })).toEqual({ name: 'ada', role: 'user' });
    expect(CreateUserBody.safeParse({ name: 'ada', rol: 'admin' }).success).toBe(false);
    expect(CreateUserBody.safeParse({ name: '  ' }).success).toBe(false);
  });
  it('webhook urls must be http(s)', () => {
    expect(CreateWebhookBody.safeParse({ url: 'https://example.test/hook' }).success).toBe(true);
    expect(CreateWebhookBody.safeParse({ url: 'file:///etc/passwd' }).success).toBe(false);
  });
  it('job list query coerces and bounds the limit', () => {
    expect(JobListQuery.parse({ limit: '10' }).limit).toBe(10);
    expect(JobListQuery.safeParse({ limit: '1000' }).success).toBe(false);
  });
  it('assigned event may carry the bundle public key', () => {
    const e = {
      type: 'assigned',
      seq: 1,
      job_id: '00000000-0000-4000-8000-000000000000',
      machine_id: '00000000-0000-4000-8000-000000000001',
      machine_name: 'm1',
      bundle_public_jwk: { kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' },
    };
    expect(SignalingEvent.parse(e)).toMatchObject({ bundle_public_jwk: { kid: 'k1' } });
  });
});
