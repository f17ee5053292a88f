import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { AuthService } from './auth.service.js';
import { AuthThrottle, clientAddress, isKeyFailure } from './auth-throttle.js';
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
    private readonly throttle: AuthThrottle,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [ctx.getHandler(), ctx.getClass()]);
    if (access === 'public') return true;
    if (!access) throw new AppError(403, 'forbidden', 'This route has no access rule.');
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    // Authenticated before the body was parsed (routes that take big bodies, see authenticateFirst).
    if (req.principal && access !== 'machine' && req.principal.kind === 'user')
      return this.allow(req.principal, access);
    const secret = bearer(req.headers.authorization);
    const addr = clientAddress(req);
    this.throttle.check(addr);
    try {
      if (access === 'machine') {
        req.principal = await this.auth.machine(secret);
        return true;
      }
      req.principal = await this.auth.user(secret);
    } catch (e) {
      if (isKeyFailure(e, !!secret)) this.throttle.fail(addr);
      throw e;
    }
    return this.allow(req.principal, access);
  }

  private allow(user: UserPrincipal, access: Access): boolean {
    if (access === 'admin' && user.role !== 'admin')
      throw new AppError(403, 'forbidden', 'Only administrators may do this.');
    return true;
  }
}

/**
 * Express middleware for routes that take big bodies: checks the user key (and the address's failure count)
 * BEFORE the body parser, so an unauthenticated request is answered without its body being read into memory or
 * parsed (Node discards the rest of the upload as it arrives; nothing of it is kept).
 */
export function authenticateFirst(auth: AuthService, throttle: AuthThrottle) {
  return (req: AuthedRequest, res: Response, next: NextFunction): void => {
    const secret = bearer(req.headers.authorization);
    const addr = clientAddress(req);
    const refuse = (e: unknown) => {
      if (!(e instanceof AppError)) return next(e);
      if (isKeyFailure(e, !!secret)) throttle.fail(addr);
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
      res.status(e.status).json(e.body());
    };
    try {
      throttle.check(addr);
    } catch (e) {
      return refuse(e);
    }
    auth.user(secret).then((p) => {
      req.principal = p;
      next();
    }, refuse);
  };
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
