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

const HELLO = `#include "esp_rom_sys.h"

/* Prints a greeting once a second, like ESP-IDF's hello_world example. */
void app_main(void)
{
    esp_rom_printf("Hello world!\\n");
    for (int i = 10; i >= 0; i--) {
        esp_rom_printf("Restarting in %d seconds...\\n", i);
        esp_rom_delay_us(1000000);
    }
    esp_rom_printf("Restarting now.\\n");
}
`;

const BLINK = `#include <stdint.h>
#include "esp_rom_sys.h"

/* Toggles GPIO8 (the LED on ESP32-C3 DevKitM-1) through the GPIO output registers. */
#define BLINK_GPIO 8
#define GPIO_OUT_W1TS_REG (*(volatile uint32_t *)0x60004008)
#define GPIO_OUT_W1TC_REG (*(volatile uint32_t *)0x6000400C)
#define GPIO_ENABLE_W1TS_REG (*(volatile uint32_t *)0x60004024)

void app_main(void)
{
    GPIO_ENABLE_W1TS_REG = 1u << BLINK_GPIO;
    int on = 0;
    for (;;) {
        esp_rom_printf("Turning the LED %s!\\n", on ? "ON" : "OFF");
        if (on) GPIO_OUT_W1TS_REG = 1u << BLINK_GPIO;
        else GPIO_OUT_W1TC_REG = 1u << BLINK_GPIO;
        on = !on;
        esp_rom_delay_us(1000000);
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
    { path: '.espctl.toml', data: enc.encode(`[project]\nname = "${name}"\n`) },
  ];
}
