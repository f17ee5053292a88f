/* Test toolchain: minimal start-up for a RAM-loaded app. Sets the stack, clears .bss, runs app_main. */
extern char _bss_start[], _bss_end[];
extern void app_main(void);
void start_cpu0_c(void);

__attribute__((naked, noreturn, section(".entry.text"))) void call_start_cpu0(void)
{
    __asm__ volatile("la sp, _stack_top\n"
                     "j start_cpu0_c\n");
}

__attribute__((noreturn)) void start_cpu0_c(void)
{
    for (char *p = _bss_start; p < _bss_end; p++) {
        *p = 0;
    }
    app_main();
    for (;;) {
    }
}
