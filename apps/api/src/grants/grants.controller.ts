import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { GrantRequest, type GrantRequestParsed } from '@aegis/protocol';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { body } from '../http/zod-pipe.js';
import { GrantsService } from './grants.service.js';
import { SigningKeysService } from './signing-keys.service.js';
import { Doc } from '../http/doc.js';

@Controller()
export class GrantsController {
  constructor(
    private readonly grants: GrantsService,
    private readonly keys: SigningKeysService,
  ) {}

  @Post('grant/request')
  @Auth('user')
  @HttpCode(201)
  @Doc({
    body: 'GrantRequest',
    res: 'GrantResponse',
    status: 201,
    summary:
      'A pending job and its signed grant. Busy machines are fine: once the offer is posted the job waits in the queue ' +
      '(fair across users; each user runs at most USER_MAX_CONCURRENT_JOBS builds at once, the rest wait their turn).',
    errors: {
      429:
        'queue_full: the user already has USER_MAX_QUEUED_JOBS jobs waiting (default 50) — wait until some start or ' +
        'cancel some (POST /jobs/{id}/cancel); quota_exceeded (USER_DAILY_JOBS); rate_limited (GRANT_RATE_PER_MIN). ' +
        'Retry-After is set.',
      503: 'no_machine: no online machine could ever build this (IDF version, target) pair or is big enough; the message says which',
    },
  })
  request(@CurrentUser() u: UserPrincipal, @Body(body(GrantRequest)) b: GrantRequestParsed) {
    return this.grants.request(u, b);
  }

  @Get('.well-known/jwks.json')
  @Auth('public')
  jwks() {
    return this.keys.jwks();
  }

  /** Rotate the grant-signing key (admin). Old keys stay published until their grants expire. */
  @Post('admin/signing-keys/rotate')
  @Auth('admin')
  @HttpCode(200)
  async rotate() {
    return { kid: await this.keys.rotate() };
  }
}
