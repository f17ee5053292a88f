import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CreateMachineBody, PROTOCOL_VERSION } from '@aegis/protocol';
import type { z } from 'zod';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { uuidParam, body } from '../http/zod-pipe.js';
import { machineView } from '../views.js';
import { MachinesService } from './machines.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { In } from 'typeorm';
import { Doc } from '../http/doc.js';

@Controller('machines')
export class MachinesController {
  constructor(
    private readonly machines: MachinesService,
    private readonly jobs: JobsService,
  ) {}

  /** Users see online machines (what they can build on); admins see all. */
  @Get()
  @Auth('user')
  @Doc({ res: 'MachineListResponse' })
  async list(@CurrentUser() u: UserPrincipal) {
    const rows = await this.machines.all(true);
    const views = rows.map((m) => machineView(m, this.machines.isOnline(m)));
    return { v: PROTOCOL_VERSION, machines: u.role === 'admin' ? views : views.filter((m) => m.online) };
  }

  /** The bundle-signing keys the caller may check a flash bundle's signature with (found by the JWS `kid`). */
  @Get('keys')
  @Auth('user')
  @Doc({ res: 'MachineKeyListResponse' })
  async keys(@CurrentUser() u: UserPrincipal) {
    return { v: PROTOCOL_VERSION, keys: await this.machines.keysFor(u) };
  }

  @Post()
  @Auth('admin')
  @HttpCode(201)
  @Doc({ body: 'CreateMachineBody', res: 'CreateMachineResponse', status: 201 })
  async create(@Body(body(CreateMachineBody)) b: z.output<typeof CreateMachineBody>) {
    const { machine, token } = await this.machines.create(b.name);
    return { v: PROTOCOL_VERSION, machine: machineView(machine, false), token };
  }

  /** Removes the machine and revokes its token; its jobs in flight fail as lost. */
  @Delete(':id')
  @Auth('admin')
  @HttpCode(204)
  async remove(@Param('id', uuidParam) id: string) {
    await this.machines.remove(id);
    const active = await this.jobs.repo.find({ where: { machineId: id, state: In(['assigned', 'running']) } });
    for (const j of active) await this.jobs.failLost(j, 'An administrator removed the build machine.');
  }
}
