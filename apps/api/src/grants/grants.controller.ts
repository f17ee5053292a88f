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
  @Doc({ body: 'GrantRequest', res: 'GrantResponse', status: 201, summary: 'A pending job and its signed grant' })
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
