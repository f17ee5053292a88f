/* Test toolchain: esp_app_desc_t as ESP-IDF 5 lays it out; idf.py passes PROJECT_NAME, PROJECT_VER, IDF_VER. */
#include <stdint.h>

typedef struct {
    uint32_t magic_word;
    uint32_t secure_version;
    uint32_t reserv1[2];
    char version[32];
    char project_name[32];
    char time[16];
    char date[16];
    char idf_ver[32];
    uint8_t app_elf_sha256[32];
    uint16_t min_efuse_blk_rev_full;
    uint16_t max_efuse_blk_rev_full;
    uint8_t mmu_page_size;
    uint8_t reserv3[3];
    uint32_t reserv2[18];
} esp_app_desc_t;

_Static_assert(sizeof(esp_app_desc_t) == 256, "esp_app_desc_t must be 256 bytes");

/* Reproducible build: no __DATE__/__TIME__, so an unchanged project gives an identical image. */
__attribute__((section(".rodata_desc"), used)) const esp_app_desc_t esp_app_desc = {
    .magic_word = 0xABCD5432,
    .secure_version = 0,
    .version = PROJECT_VER,
    .project_name = PROJECT_NAME,
    .time = "00:00:00",
    .date = "Jan  1 2026",
    .idf_ver = IDF_VER,
    .app_elf_sha256 = {0},
    .min_efuse_blk_rev_full = 0,
    .max_efuse_blk_rev_full = 199,
    .mmu_page_size = 16,
};
