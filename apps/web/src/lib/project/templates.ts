import type { TarEntry } from '../tar/ustar';

/**
 * Starter projects in the ESP-IDF layout (top CMakeLists.txt, main/ component). The sources are plain,
 * freestanding C, so they also compile with the test toolchain (gcc-riscv64-unknown-elf for esp32c3).
 */
export type TemplateName = 'hello_world' | 'blink' | 'empty';

const topCmake = (name: string) => `# The following lines of boilerplate have to be in your project's CMakeLists
cmake_minimum_required(VERSION 3.16)
include($ENV{IDF_PATH}/tools/cmake/project.cmake)
project(${name})
`;
const mainCmake = (src: string) => `idf_component_register(SRCS "${src}" INCLUDE_DIRS ".")
`;

/** A busy-wait delay: freestanding code has no scheduler to sleep with. */
const DELAY = `static void delay(unsigned long n)
{
    for (volatile unsigned long i = 0; i < n; i++) {
    }
}
`;

const HELLO = `#include <stdio.h>

${DELAY}
/* Prints a greeting and counts down, like ESP-IDF's hello_world example. */
void app_main(void)
{
    printf("Hello world!\\n");
    for (int i = 10; i >= 0; i--) {
        printf("Restarting in %d seconds...\\n", i);
        delay(4000000);
    }
    printf("Restarting now.\\n");
}
`;

const BLINK = `#include <stdint.h>
#include <stdio.h>

/* Toggles GPIO8 (the LED on ESP32-C3 DevKitM-1) through the GPIO output registers. */
#define BLINK_GPIO 8
#define GPIO_OUT_W1TS_REG (*(volatile uint32_t *)0x60004008)
#define GPIO_OUT_W1TC_REG (*(volatile uint32_t *)0x6000400C)
#define GPIO_ENABLE_W1TS_REG (*(volatile uint32_t *)0x60004020)

${DELAY}
void app_main(void)
{
    GPIO_ENABLE_W1TS_REG = 1u << BLINK_GPIO;
    int on = 0;
    for (;;) {
        printf("Turning the LED %s!\\n", on ? "ON" : "OFF");
        if (on) {
            GPIO_OUT_W1TS_REG = 1u << BLINK_GPIO;
        } else {
            GPIO_OUT_W1TC_REG = 1u << BLINK_GPIO;
        }
        on = !on;
        delay(4000000);
    }
}
`;

const EMPTY = `/* Your application starts here. */
void app_main(void)
{
}
`;

export const TEMPLATES: { name: TemplateName; description: string }[] = [
  { name: 'hello_world', description: 'prints to the serial console' },
  { name: 'blink', description: 'toggles the LED on GPIO8' },
  { name: 'empty', description: 'an empty app_main' },
];

export function templateFiles(name: TemplateName): TarEntry[] {
  const enc = new TextEncoder();
  const src = name === 'hello_world' ? HELLO : name === 'blink' ? BLINK : EMPTY;
  const file = `${name}_main.c`;
  return [
    { path: 'CMakeLists.txt', data: enc.encode(topCmake(name)) },
    { path: 'main/CMakeLists.txt', data: enc.encode(mainCmake(file)) },
    { path: `main/${file}`, data: enc.encode(src) },
    // The chip the test toolchain and most boards here have; change it in the form or in this file.
    { path: '.espctl.toml', data: enc.encode(`[project]\nname = "${name}"\n\n[build]\ntarget = "esp32c3"\n`) },
  ];
}
