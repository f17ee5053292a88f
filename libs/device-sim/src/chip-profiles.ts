/**
 * What a simulated chip answers to the loader: the detection magic at 0x40001000, the GET_SECURITY_INFO chip id,
 * eFuse words for MAC and revision, and the SPI0 register block esptool drives for the RDID flash-id command.
 * Addresses are those in esptool's targets/*.py (and esptool-js 0.7.0 lib/targets).
 */
export type ChipName = 'esp32' | 'esp32s2' | 'esp32s3' | 'esp32c2' | 'esp32c3' | 'esp32c6' | 'esp32h2';

export interface SpiRegs {
  base: number;
  usr: number;
  usr1: number;
  usr2: number;
  w0: number;
  mosiDlen: number;
  misoDlen: number;
}

export interface ChipProfile {
  name: ChipName;
  /** Name esptool prints, e.g. "ESP32-C3". */
  displayName: string;
  magic: number;
  /** GET_SECURITY_INFO chip_id; null where the ROM has no such command (ESP32). */
  securityChipId: number | null;
  /** GET_SECURITY_INFO answer length: 12 bytes on the ESP32-S2 (no chip id / API version), 20 on later ROMs. */
  securityInfoLen: 12 | 20;
  /** Image header chip id (esp_chip_id_t). */
  imageChipId: number;
  /** Every ESP32-family ROM sends 4 status bytes (esptool's ESP32ROM.STATUS_BYTES_LENGTH); the stub sends 2. */
  romStatusLen: 2 | 4;
  bootloaderOffset: number;
  spi: SpiRegs;
  /** The crystal on the board. */
  xtalHz: number;
  /**
   * The crystal the ROM's CHANGE_BAUDRATE assumes (the ESP32-C2 ROM always computes with 40 MHz, so on a
   * 26 MHz board it lands at 26/40 of the asked rate — esptool compensates). Defaults to xtalHz.
   */
  romXtalHz?: number;
  /** eFuse/system register values for a given MAC; anything not listed reads 0. */
  registers(mac: Uint8Array): Map<number, number>;
  /** ROM banner printed on every reset, before the boot-mode specific part. */
  romBanner: string;
  downloadBoot: string;
  flashBoot: string;
  /** Register read by esptool to compute the crystal (ESP32, ESP32-C2). */
  uartClkdivReg?: number;
}

/** ESP32: where esptool reads the RTC calibration (TIMERS_RTC_CALI_VALUE, bits 7+) for its baud drift fix. */
export const ESP32_RTCCALICFG1 = 0x3ff5f06c;
/** ESP32: EFUSE_RD_CK8M_FREQ (eFuse word 4, low byte) of the simulated chip. */
const ESP32_CK8M_EFUSE = 64;
/**
 * The calibration value that makes esptool compute `romXtalHz` for the ESP32 ROM's idea of its crystal
 * (cali × 15625 × ck8m / 40, esptool's get_rom_cal_crystal_freq).
 */
export function esp32CaliValue(romXtalHz: number): number {
  return Math.round((romXtalHz * 40) / (15625 * ESP32_CK8M_EFUSE));
}

const macWords = (mac: Uint8Array): [number, number] => [
  ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0,
  (mac[0] << 8) | mac[1],
];

/** The S2, S3, C2 and C3 SPI0 block offsets (base differs on the S2). */
const spi0 = (base: number): SpiRegs => ({
  base,
  usr: 0x18,
  usr1: 0x1c,
  usr2: 0x20,
  w0: 0x58,
  mosiDlen: 0x24,
  misoDlen: 0x28,
});
const SPI0_S3_C3 = spi0(0x60002000);

/**
 * eFuse of the later chips: MAC in words 0–1 of the MAC block, revision/package bits in words 1, 3 or 4 of that
 * block (per esptool's get_minor/major_chip_version, get_pkg_version); `extra` ORs bits into further words.
 */
const efuseRegisters =
  (macBlock: number, extra: Record<number, number> = {}) =>
  (mac: Uint8Array): Map<number, number> => {
    const [mac0, mac1] = macWords(mac);
    const words = new Map<number, number>([
      [macBlock, mac0],
      [macBlock + 4, mac1],
    ]);
    for (const [word, bits] of Object.entries(extra)) {
      const addr = macBlock + 4 * Number(word);
      words.set(addr, ((words.get(addr) ?? 0) | bits) >>> 0);
    }
    return words;
  };

const DOWNLOAD = (boot: string) => `rst:0x1 (POWERON),boot:${boot}\r\nwaiting for download\r\n`;
const FLASH_BOOT = (boot: string) =>
  `rst:0x1 (POWERON),boot:${boot} (SPI_FAST_FLASH_BOOT)\r\nSPIWP:0xee\r\nmode:DIO, clock div:1\r\n`;

export const CHIPS: Record<ChipName, ChipProfile> = {
  esp32: {
    name: 'esp32',
    displayName: 'ESP32',
    magic: 0x00f01d83,
    securityChipId: null,
    securityInfoLen: 20,
    imageChipId: 0,
    romStatusLen: 4,
    bootloaderOffset: 0x1000,
    spi: { base: 0x3ff42000, usr: 0x1c, usr1: 0x20, usr2: 0x24, w0: 0x80, mosiDlen: 0x28, misoDlen: 0x2c },
    xtalHz: 40_000_000,
    uartClkdivReg: 0x3ff40014,
    registers(mac) {
      const [mac0, mac1] = macWords(mac);
      const efuse = 0x3ff5a000;
      return new Map([
        [efuse + 4 * 1, mac0],
        [efuse + 4 * 2, mac1],
        // word3: rev bit0 (bit 15) + package 1 (D0WD); word5 bit 20 + APB_CTRL_DATE bit 31 → revision 3
        [efuse + 4 * 3, (1 << 15) | (1 << 9)],
        // word4 low byte: EFUSE_RD_CK8M_FREQ, which esptool's ESP32 baud drift correction reads
        [efuse + 4 * 4, ESP32_CK8M_EFUSE],
        [efuse + 4 * 5, 1 << 20],
        [0x3ff66000 + 0x7c, 0x80000000],
        [ESP32_RTCCALICFG1, esp32CaliValue(40_000_000) << 7],
      ]);
    },
    romBanner: 'ets Jul 29 2019 12:21:46\r\n\r\n',
    downloadBoot:
      'rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n',
    flashBoot:
      'rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nconfigsip: 0, SPIWP:0xee\r\n' +
      'clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\nmode:DIO, clock div:2\r\n',
  },
  esp32s2: {
    name: 'esp32s2',
    displayName: 'ESP32-S2',
    magic: 0x000007c6,
    securityChipId: 2,
    securityInfoLen: 12,
    imageChipId: 2,
    romStatusLen: 4,
    bootloaderOffset: 0x1000,
    spi: spi0(0x3f402000),
    xtalHz: 40_000_000,
    // MAC in BLOCK1 words 0–1; major revision 1 in word 3 bits 18–19 → v1.0
    registers: efuseRegisters(0x3f41a000 + 0x44, { 3: 1 << 18 }),
    romBanner: 'ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\n',
    downloadBoot: DOWNLOAD('0x0 (DOWNLOAD(USB/UART0/1))'),
    flashBoot: FLASH_BOOT('0x8'),
  },
  esp32s3: {
    name: 'esp32s3',
    displayName: 'ESP32-S3',
    magic: 0x9,
    securityChipId: 9,
    securityInfoLen: 20,
    imageChipId: 9,
    romStatusLen: 4,
    bootloaderOffset: 0x0,
    spi: SPI0_S3_C3,
    xtalHz: 40_000_000,
    registers: efuseRegisters(0x60007000 + 0x44, { 3: 2 << 18 }), // minor revision 2 → v0.2
    romBanner: 'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n',
    downloadBoot: DOWNLOAD('0x0 (DOWNLOAD(USB/UART0))'),
    flashBoot: FLASH_BOOT('0x8'),
  },
  esp32c2: {
    name: 'esp32c2',
    displayName: 'ESP32-C2',
    magic: 0x7c41a06f, // ECO1; ECO0 (0x6f51306f) is no longer served by esptool's stub
    securityChipId: 12,
    securityInfoLen: 20,
    imageChipId: 12,
    romStatusLen: 4,
    bootloaderOffset: 0x0,
    spi: SPI0_S3_C3,
    // The common ESP8684 module crystal; the ROM still computes baud rates for 40 MHz.
    xtalHz: 26_000_000,
    romXtalHz: 40_000_000,
    uartClkdivReg: 0x60000014,
    // MAC in BLOCK2 words 0–1; word 1 bits 20–21 major revision 1 → v1.0
    registers: efuseRegisters(0x60008800 + 0x40, { 1: 1 << 20 }),
    romBanner: 'ESP-ROM:esp8684-api2-20220127\r\nBuild:Jan 27 2022\r\n',
    downloadBoot: DOWNLOAD('0x4 (DOWNLOAD(UART0))'),
    flashBoot: FLASH_BOOT('0xc'),
  },
  esp32c3: {
    name: 'esp32c3',
    displayName: 'ESP32-C3',
    magic: 0x1b31506f,
    securityChipId: 5,
    securityInfoLen: 20,
    imageChipId: 5,
    romStatusLen: 4,
    bootloaderOffset: 0x0,
    spi: SPI0_S3_C3,
    xtalHz: 40_000_000,
    registers: efuseRegisters(0x60008800 + 0x44, { 3: 4 << 18 }), // minor revision 4 → v0.4
    romBanner: 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n',
    downloadBoot: DOWNLOAD('0x5 (DOWNLOAD(USB/UART0/1))'),
    flashBoot: FLASH_BOOT('0xc'),
  },
  esp32c6: {
    name: 'esp32c6',
    displayName: 'ESP32-C6',
    magic: 0x2ce0806f,
    securityChipId: 13,
    securityInfoLen: 20,
    imageChipId: 13,
    romStatusLen: 4,
    bootloaderOffset: 0x0,
    spi: spi0(0x60003000),
    xtalHz: 40_000_000,
    // word 1 high half: MAC_EXT ff:fe (EUI-64); word 3 bits 18–21 minor revision 1 → v0.1
    registers: efuseRegisters(0x600b0800 + 0x44, { 1: 0xfffe0000, 3: 1 << 18 }),
    romBanner: 'ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\n',
    downloadBoot: DOWNLOAD('0x4 (DOWNLOAD(USB/UART0/SDIO_REI_FEO))'),
    flashBoot: FLASH_BOOT('0xc'),
  },
  esp32h2: {
    name: 'esp32h2',
    displayName: 'ESP32-H2',
    magic: 0xd7b73e80,
    securityChipId: 16,
    securityInfoLen: 20,
    imageChipId: 16,
    romStatusLen: 4,
    bootloaderOffset: 0x0,
    spi: spi0(0x60003000),
    xtalHz: 32_000_000,
    // word 1 high half: MAC_EXT ff:fe; word 3 bits 18–20 minor revision 1 → v0.1
    registers: efuseRegisters(0x600b0800 + 0x44, { 1: 0xfffe0000, 3: 1 << 18 }),
    romBanner: 'ESP-ROM:esp32h2-20221101\r\nBuild:Nov  1 2022\r\n',
    downloadBoot: DOWNLOAD('0xc (DOWNLOAD(USB/UART0))'),
    flashBoot: FLASH_BOOT('0x8'),
  },
};

export const CHIP_NAMES = Object.keys(CHIPS) as ChipName[];

/** JEDEC id as RDID returns it in SPI_W0: manufacturer, memory type, capacity (log2 of the size). */
export function jedecId(flashSize: number, manufacturer = 0xc8, memType = 0x40): number {
  return manufacturer | (memType << 8) | (Math.log2(flashSize) << 16);
}
