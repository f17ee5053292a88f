/* Test toolchain libc subset: printf goes to the ROM's ets_printf (UART0), as esp_rom_printf does. */
#pragma once
int ets_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int esp_rom_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define printf ets_printf
#define puts(s) ets_printf("%s\n", (s))
#define putchar(c) ets_printf("%c", (c))
