import type { Target } from '@aegis/protocol';
import { EspFormatError } from './errors.js';

/**
 * The starter projects of the dashboard and espctl (one set, pure data: this module runs in the browser too).
 * Each is a real ESP-IDF v5 program that builds for esp32c3 and esp32 (apps/machine/test/build/templates-build.spec.ts
 * builds every one for both with the real ESP-IDF kit): no chip registers, and app_main never spins without
 * yielding to FreeRTOS (vTaskDelay), so the task watchdog stays quiet.
 */
export const TEMPLATE_NAMES = ['hello_world', 'blink', 'hello_cpp', 'nvs_counter', 'empty'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** The targets every template is built for in the tests (the ones the offline ESP-IDF kit has). */
export const TEMPLATE_TARGETS = ['esp32c3', 'esp32'] as const satisfies readonly Target[];

export interface TemplateInfo {
  name: TemplateName;
  description: string;
  language: 'c' | 'cpp';
}

export const TEMPLATES: readonly TemplateInfo[] = [
  {
    name: 'hello_world',
    description: 'prints the chip info to the serial console, restarts every 10 s',
    language: 'c',
  },
  { name: 'blink', description: 'blinks an LED with driver/gpio (pin set per board, in menuconfig)', language: 'c' },
  {
    name: 'hello_cpp',
    description: 'C++17: classes, std::string, std::vector (no exceptions, no threads)',
    language: 'cpp',
  },
  { name: 'nvs_counter', description: 'counts boots in NVS flash storage, restarts every 10 s', language: 'c' },
  { name: 'empty', description: 'an empty app_main', language: 'c' },
];

/** A board and the GPIO of its LED, for the blink template. */
export interface LedBoard {
  id: string;
  name: string;
  target: Target;
  gpio: number;
  /** The LED lights when the pin is low (it is wired from 3V3 to the pin). */
  activeLow: boolean;
  note: string;
}

/**
 * Boards whose LED a plain GPIO level drives. Espressif's ESP32-C3-DevKitM-1 / DevKitC-02 are not here on purpose:
 * their GPIO8 LED is an addressable WS2812 that needs the led_strip component (RMT), not a level.
 */
export const LED_BOARDS: readonly LedBoard[] = [
  {
    id: 'esp32c3-supermini',
    name: 'ESP32-C3 SuperMini',
    target: 'esp32c3',
    gpio: 8,
    activeLow: true,
    note: 'blue LED on GPIO8, lit when the pin is low',
  },
  {
    id: 'esp32c3-led-gpio8',
    name: 'ESP32-C3 board, LED wired to GPIO8',
    target: 'esp32c3',
    gpio: 8,
    activeLow: false,
    note: 'an LED with a resistor from GPIO8 to GND (on a DevKitM-1 use another pin: its GPIO8 LED is addressable)',
  },
  {
    id: 'esp32-devkit-v1',
    name: 'ESP32 DEVKIT V1 (DOIT)',
    target: 'esp32',
    gpio: 2,
    activeLow: false,
    note: 'blue LED on GPIO2',
  },
  {
    id: 'esp32-devkitc',
    name: 'ESP32-DevKitC',
    target: 'esp32',
    gpio: 2,
    activeLow: false,
    note: 'no user LED on the board: wire an LED with a resistor from GPIO2 to GND',
  },
];

/** Project names end up in file names, CMake and C identifiers. */
export const PROJECT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

export interface TemplateOptions {
  /** The project name: `project(<name>)`, `main/<name>.c`. */
  name: string;
  /** Written to .espctl.toml as the default build target. */
  target?: Target;
  /** blink only: an id from LED_BOARDS; its pin goes to `sdkconfig.defaults.<its target>`. */
  board?: string;
}

const topCMake = (name: string): string =>
  [
    '# The following lines of boilerplate have to be in your project CMakeLists',
    '# in this exact order for cmake to work correctly',
    'cmake_minimum_required(VERSION 3.16)',
    '',
    'include($ENV{IDF_PATH}/tools/cmake/project.cmake)',
    `project(${name})`,
    '',
  ].join('\n');

const mainCMake = (src: string): string =>
  `idf_component_register(SRCS "${src}"\n                       INCLUDE_DIRS ".")\n`;

const helloC = (
  name: string,
): string => `/* ${name}: prints the chip info and restarts every 10 s (Aegis template hello_world). */
#include <inttypes.h>
#include <stdio.h>
#include "sdkconfig.h"
#include "esp_chip_info.h"
#include "esp_flash.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

void app_main(void)
{
    printf("Hello world!\\n");

    esp_chip_info_t chip_info;
    esp_chip_info(&chip_info);
    printf("This is %s chip with %d CPU core(s), silicon revision v%d.%d, ", CONFIG_IDF_TARGET, chip_info.cores,
           chip_info.revision / 100, chip_info.revision % 100);
    uint32_t flash_size = 0;
    if (esp_flash_get_size(NULL, &flash_size) == ESP_OK) {
        printf("%" PRIu32 " MB %s flash\\n", flash_size / (uint32_t)(1024 * 1024),
               (chip_info.features & CHIP_FEATURE_EMB_FLASH) ? "embedded" : "external");
    } else {
        printf("flash size unknown\\n");
    }
    printf("Minimum free heap size: %" PRIu32 " bytes\\n", esp_get_minimum_free_heap_size());

    for (int i = 10; i >= 0; i--) {
        printf("Restarting in %d seconds...\\n", i);
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
    printf("Restarting now.\\n");
    fflush(stdout);
    esp_restart();
}
`;

const blinkKconfig = `menu "Blink configuration"

    config BLINK_GPIO
        int "LED GPIO number"
        range 0 21 if IDF_TARGET_ESP32C3
        range 0 33 if IDF_TARGET_ESP32
        default 8 if IDF_TARGET_ESP32C3
        default 2
        help
            The GPIO the LED is on. ESP32: 34-39 are input-only and 6-11 are the SPI flash, do not use them.

    config BLINK_LED_ACTIVE_LOW
        bool "The LED lights when the pin is low"
        default n
        help
            Set it when the LED is wired from 3V3 to the pin (as on the ESP32-C3 SuperMini).

    config BLINK_PERIOD_MS
        int "Blink period in ms"
        range 10 3600000
        default 1000
        help
            How long the LED stays on, then off. At least one FreeRTOS tick (10 ms at the default 100 Hz).

endmenu
`;

const blinkC = (name: string): string => `/*
 * ${name}: blinks an LED with driver/gpio (Aegis template blink).
 * The pin, its polarity and the period are in \`idf.py menuconfig\` → Blink configuration.
 */
#include <stdbool.h>
#include "sdkconfig.h"
#include "driver/gpio.h"
#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#define LED_GPIO ((gpio_num_t)CONFIG_BLINK_GPIO)
#ifdef CONFIG_BLINK_LED_ACTIVE_LOW
#define LED_ON_LEVEL 0
#else
#define LED_ON_LEVEL 1
#endif

static const char *TAG = "blink";

void app_main(void)
{
    gpio_reset_pin(LED_GPIO);
    ESP_ERROR_CHECK(gpio_set_direction(LED_GPIO, GPIO_MODE_OUTPUT));
    bool on = false;
    while (true) {
        on = !on;
        ESP_LOGI(TAG, "Turning the LED %s (GPIO %d)", on ? "ON" : "OFF", CONFIG_BLINK_GPIO);
        gpio_set_level(LED_GPIO, on ? LED_ON_LEVEL : !LED_ON_LEVEL);
        /* Sleeping, not spinning, lets the idle task run and feed the task watchdog. */
        vTaskDelay(pdMS_TO_TICKS(CONFIG_BLINK_PERIOD_MS));
    }
}
`;

const blinkDefaults = `# Settings for a new sdkconfig (read once, when there is no sdkconfig yet); change them with idf.py menuconfig.
# sdkconfig.defaults.<target> (the board's LED pin) is read after this file, for that target only.
CONFIG_BLINK_PERIOD_MS=1000
`;

const boardDefaults = (b: LedBoard): string =>
  `# ${b.name}: ${b.note}.\nCONFIG_BLINK_GPIO=${b.gpio}\n${b.activeLow ? 'CONFIG_BLINK_LED_ACTIVE_LOW=y' : '# CONFIG_BLINK_LED_ACTIVE_LOW is not set'}\n`;

const helloCpp = (name: string): string => `// ${name}: a C++ ESP-IDF application (Aegis template hello_cpp).
// This toolchain's libstdc++ has no exceptions (CONFIG_COMPILER_CXX_EXCEPTIONS is off) and no std::thread or
// std::mutex: use FreeRTOS tasks and semaphores for concurrency.
#include <array>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>
#include "esp_log.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

namespace {

constexpr const char *TAG = "${name}";

/** The mean of the last N samples, in fixed storage (no allocation in the loop). */
template <std::size_t N>
class MovingAverage {
public:
    void add(std::uint32_t sample)
    {
        samples_[next_] = sample;
        next_ = (next_ + 1) % N;
        if (count_ < N) {
            ++count_;
        }
    }

    std::uint32_t value() const
    {
        if (count_ == 0) {
            return 0;
        }
        const auto end = samples_.begin() + static_cast<std::ptrdiff_t>(count_);
        return static_cast<std::uint32_t>(std::accumulate(samples_.begin(), end, std::uint64_t{0}) / count_);
    }

private:
    std::array<std::uint32_t, N> samples_{};
    std::size_t next_ = 0;
    std::size_t count_ = 0;
};

std::string join(const std::vector<std::string> &words, char separator)
{
    std::string out;
    for (const auto &word : words) {
        if (!out.empty()) {
            out += separator;
        }
        out += word;
    }
    return out;
}

}  // namespace

extern "C" void app_main(void)
{
    const std::vector<std::string> words{"Hello", "from", "C++"};
    ESP_LOGI(TAG, "%s (%u words)", join(words, ' ').c_str(), static_cast<unsigned>(words.size()));

    MovingAverage<5> free_heap;
    for (;;) {
        free_heap.add(esp_get_free_heap_size());
        ESP_LOGI(TAG, "free heap, mean of the last 5 s: %" PRIu32 " bytes", free_heap.value());
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}
`;

const nvsC = (
  name: string,
): string => `/* ${name}: counts boots in NVS flash storage, restarts every 10 s (Aegis template nvs_counter). */
#include <inttypes.h>
#include <stdio.h>
#include "esp_err.h"
#include "esp_system.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "nvs.h"
#include "nvs_flash.h"

static uint32_t count_boot(void)
{
    esp_err_t err = nvs_flash_init();
    if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
        /* The NVS partition is full or from a newer format: erase it and start again. */
        ESP_ERROR_CHECK(nvs_flash_erase());
        err = nvs_flash_init();
    }
    ESP_ERROR_CHECK(err);

    nvs_handle_t handle;
    ESP_ERROR_CHECK(nvs_open("storage", NVS_READWRITE, &handle));
    uint32_t boots = 0; /* stays 0 on the first boot: the key does not exist yet */
    err = nvs_get_u32(handle, "boot_count", &boots);
    if (err != ESP_OK && err != ESP_ERR_NVS_NOT_FOUND) {
        printf("Reading boot_count failed (%s); counting from 0.\\n", esp_err_to_name(err));
    }
    boots++;
    ESP_ERROR_CHECK(nvs_set_u32(handle, "boot_count", boots));
    /* Values are only certain to be in flash after a commit. */
    ESP_ERROR_CHECK(nvs_commit(handle));
    nvs_close(handle);
    return boots;
}

void app_main(void)
{
    printf("Boot count: %" PRIu32 "\\n", count_boot());
    for (int i = 10; i >= 0; i--) {
        printf("Restarting in %d seconds...\\n", i);
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
    printf("Restarting now.\\n");
    fflush(stdout);
    esp_restart();
}
`;

const emptyC = (name: string): string => `/* ${name}: an empty ESP-IDF application (Aegis template empty). */

void app_main(void)
{
    /* Returning is fine: ESP-IDF deletes the main task. Loops here must vTaskDelay() to feed the watchdog. */
}
`;

/** `.espctl.toml`: names and targets are plain identifiers, so no TOML escaping is needed. */
const espctlToml = (name: string, target?: Target): string =>
  `[project]\nname = "${name}"\n` + (target ? `\n[build]\ntarget = "${target}"\n` : '');

/**
 * The files of a new project from a template, keyed by relative POSIX path: CMakeLists.txt, main/CMakeLists.txt,
 * main/<name>.c (or .cpp), .espctl.toml, .gitignore, and for blink main/Kconfig.projbuild and sdkconfig.defaults
 * (plus sdkconfig.defaults.<target> with the board's LED pin when a board is chosen).
 */
export function renderProjectTemplate(template: TemplateName, options: TemplateOptions): Record<string, string> {
  const { name } = options;
  if (!PROJECT_NAME_PATTERN.test(name))
    throw new EspFormatError(
      'bad_argument',
      `Project name '${name}' is not usable: start with a letter, then only letters, digits and "_" (max 48).`,
    );
  const info = TEMPLATES.find((t) => t.name === template);
  if (!info)
    throw new EspFormatError('bad_argument', `There is no template '${template}'; use ${TEMPLATE_NAMES.join(', ')}.`);
  const board = options.board === undefined ? undefined : LED_BOARDS.find((b) => b.id === options.board);
  if (options.board !== undefined) {
    if (template !== 'blink')
      throw new EspFormatError('bad_argument', `Only the blink template takes a board; ${template} does not.`);
    if (!board)
      throw new EspFormatError(
        'bad_argument',
        `There is no board '${options.board}'; use ${LED_BOARDS.map((b) => b.id).join(', ')}.`,
      );
  }
  if (board && options.target && board.target !== options.target)
    throw new EspFormatError(
      'bad_argument',
      `${board.name} is an ${board.target} board, not ${options.target}; choose a board for ${options.target}.`,
    );
  const target = options.target ?? board?.target;

  const src = `${name}.${info.language}`;
  const source =
    template === 'hello_world'
      ? helloC(name)
      : template === 'blink'
        ? blinkC(name)
        : template === 'hello_cpp'
          ? helloCpp(name)
          : template === 'nvs_counter'
            ? nvsC(name)
            : emptyC(name);
  const files: Record<string, string> = {
    'CMakeLists.txt': topCMake(name),
    'main/CMakeLists.txt': mainCMake(src),
    [`main/${src}`]: source,
  };
  if (template === 'blink') {
    files['main/Kconfig.projbuild'] = blinkKconfig;
    files['sdkconfig.defaults'] = blinkDefaults;
    if (board) files[`sdkconfig.defaults.${board.target}`] = boardDefaults(board);
  }
  files['.espctl.toml'] = espctlToml(name, target);
  files['.gitignore'] = 'build/\nsdkconfig.old\nmanaged_components/\n';
  return files;
}
