/* Test toolchain second-stage bootloader: announces itself over the ROM console and stops.
 * It exists so the bundle has a real, parseable bootloader image at the chip's bootloader offset. */
int ets_printf(const char *fmt, ...);
void bootloader_main(void);

__attribute__((naked, noreturn, section(".entry.text"))) void call_start_cpu0(void)
{
    __asm__ volatile("la sp, _stack_top\n"
                     "j bootloader_main\n");
}

__attribute__((noreturn)) void bootloader_main(void)
{
    ets_printf("aegis test-toolchain bootloader\n");
    for (;;) {
    }
}
