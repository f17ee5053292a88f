#pragma once
int esp_rom_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
