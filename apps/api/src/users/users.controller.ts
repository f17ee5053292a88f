import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CreateKeyBody, CreateUserBody, PROTOCOL_VERSION } from '@aegis/protocol';
import type { z } from 'zod';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { uuidParam, body } from '../http/zod-pipe.js';
import { AppError, notFound } from '../errors.js';
import { keyView, userView } from '../views.js';
import { UsersService } from './users.service.js';
import { Doc } from '../http/doc.js';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @Auth('user')
  @Doc({ res: 'MeResponse' })
  async me(@CurrentUser() u: UserPrincipal) {
    const user = await this.users.getUser(u.userId);
    if (!user) throw notFound('User');
    return { v: PROTOCOL_VERSION, user: userView(user), key_id: u.keyId };
  }

  @Get('users')
  @Auth('admin')
  @Doc({ res: 'UserListResponse' })
  async list() {
    return { v: PROTOCOL_VERSION, users: (await this.users.listUsers()).map(userView) };
  }

  /** Creates a user and its first key; the secret is in this response only. */
  @Post('users')
  @Auth('admin')
  @HttpCode(201)
  @Doc({ body: 'CreateUserBody', res: 'CreateUserResponse', status: 201 })
  async create(@Body(body(CreateUserBody)) b: z.output<typeof CreateUserBody>) {
    await this.users.ensureUniqueName(b.name);
    const { user, key, secret } = await this.users.createUser(b.name, b.role);
    return { v: PROTOCOL_VERSION, user: userView(user), key: keyView(key), secret };
  }

  @Get('keys')
  @Auth('user')
  @Doc({ res: 'KeyListResponse' })
  async keys(@CurrentUser() u: UserPrincipal) {
    return { v: PROTOCOL_VERSION, keys: (await this.users.listKeys(u.userId)).map(keyView) };
  }

  @Post('keys')
  @Auth('user')
  @HttpCode(201)
  @Doc({ body: 'CreateKeyBody', res: 'CreateKeyResponse', status: 201 })
  async createKey(@CurrentUser() u: UserPrincipal, @Body(body(CreateKeyBody)) b: z.output<typeof CreateKeyBody>) {
    const owner = b.user_id ?? u.userId;
    if (owner !== u.userId && u.role !== 'admin')
      throw new AppError(403, 'forbidden', 'Only administrators may create keys for others.');
    const { key, secret } = await this.users.createKey(owner, b.name);
    return { v: PROTOCOL_VERSION, key: keyView(key), secret };
  }

  @Delete('keys/:id')
  @Auth('user')
  async revoke(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return { v: PROTOCOL_VERSION, key: keyView(await this.users.revokeKey(id, u)) };
  }
}
