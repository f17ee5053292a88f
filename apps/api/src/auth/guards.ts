import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppError } from '../errors.js';
import { AuthService } from './auth.service.js';
import type { MachinePrincipal, Principal, UserPrincipal } from './principal.js';
import { bearer } from './secrets.js';

export type Access = 'public' | 'user' | 'admin' | 'machine';
export const ACCESS = 'aegis:access';
/** Every route says who may call it; the guard refuses routes that say nothing. */
export const Auth = (access: Access) => SetMetadata(ACCESS, access);

type AuthedRequest = Request & { principal?: Principal };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [ctx.getHandler(), ctx.getClass()]);
    if (access === 'public') return true;
    if (!access) throw new AppError(403, 'forbidden', 'This route has no access rule.');
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const secret = bearer(req.headers.authorization);
    if (access === 'machine') {
      req.principal = await this.auth.machine(secret);
      return true;
    }
    const user = await this.auth.user(secret);
    if (access === 'admin' && user.role !== 'admin')
      throw new AppError(403, 'forbidden', 'Only administrators may do this.');
    req.principal = user;
    return true;
  }
}

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): UserPrincipal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (p?.kind !== 'user') throw new AppError(401, 'unauthenticated', 'A user API key is required.');
  return p;
});

export const CurrentMachine = createParamDecorator((_: unknown, ctx: ExecutionContext): MachinePrincipal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (p?.kind !== 'machine') throw new AppError(401, 'unauthenticated', 'A machine token is required.');
  return p;
});
