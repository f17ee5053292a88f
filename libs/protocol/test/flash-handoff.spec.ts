import { describe, expect, it } from 'vitest';
import { CreateFlashRequest, FlashRequest, FlashRequestList } from '@aegis/protocol';

const uuid = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

describe('flash hand-off', () => {
  it('accepts a metadata-only request and refuses unknown statuses', () => {
    const r = { id: uuid, job_id: uuid, status: 'pending', created_at: '2026-11-25T09:00:00.000Z' };
    expect(FlashRequest.parse(r)).toEqual(r);
    expect(FlashRequestList.parse({ requests: [r] }).requests).toHaveLength(1);
    expect(FlashRequest.safeParse({ ...r, status: 'flashing' }).success).toBe(false);
  });

  it('refuses extra fields when creating (no firmware bytes through the API)', () => {
    expect(CreateFlashRequest.safeParse({ job_id: uuid }).success).toBe(true);
    expect(CreateFlashRequest.safeParse({ job_id: uuid, firmware: 'AAAA' }).success).toBe(false);
    expect(CreateFlashRequest.safeParse({ job_id: 'nope' }).success).toBe(false);
  });
});
