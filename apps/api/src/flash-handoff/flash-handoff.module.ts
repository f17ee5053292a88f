import { Module } from '@nestjs/common';
import { FlashHandoffController } from './flash-handoff.controller.js';
import { FlashHandoffService } from './flash-handoff.service.js';

@Module({ controllers: [FlashHandoffController], providers: [FlashHandoffService], exports: [FlashHandoffService] })
export class FlashHandoffModule {}
