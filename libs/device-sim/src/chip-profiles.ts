/**
 * What a simulated chip answers to the loader: the detection magic at 0x40001000, the GET_SECURITY_INFO chip id,
 * eFuse words for MAC and revision, and the SPI0 register block esptool drives for the RDID flash-id command.
 * Addresses are those in esptool's targets/*.py (and esptool-js 0.7.0 lib/targets).
 */
export type ChipName = 'esp32' | 'esp32s3' | 'esp32c3';

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
  /** Image header chip id (esp_chip_id_t). */
  imageChipId: number;
  /** The ESP32 ROM sends 4 status bytes, later ROMs 2. */
  romStatusLen: 2 | 4;
  bootloaderOffset: number;
  spi: SpiRegs;
  xtalHz: number;
  /** eFuse/system register values for a given MAC; anything not listed reads 0. */
  registers(mac: Uint8Array): Map<number, number>;
  /** ROM banner printed on every reset, before the boot-mode specific part. */
  romBanner: string;
  downloadBoot: string;
  flashBoot: string;
  /** Register read by esptool to compute the crystal (ESP32 only). */
  uartClkdivReg?: number;
}

const macWords = (mac: Uint8Array): [number, number] => [
  ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0,
  (mac[0] << 8) | mac[1],
];

/** The S3 and C3 SPI0 block: same address, same register offsets. */
const SPI0_S3_C3: SpiRegs = {
  base: 0x60002000,
  usr: 0x18,
  usr1: 0x1c,
  usr2: 0x20,
  w0: 0x58,
  mosiDlen: 0x24,
  misoDlen: 0x28,
};

/** eFuse of the later chips: MAC in BLOCK1 words 0–1, minor chip revision in word 3 from bit 18. */
const block1Registers =
  (block1: number, minorRevision: number) =>
  (mac: Uint8Array): Map<number, number> => {
    const [mac0, mac1] = macWords(mac);
    return new Map([
      [block1, mac0],
      [block1 + 4, mac1],
      [block1 + 4 * 3, minorRevision << 18],
    ]);
  };

export const CHIPS: Record<ChipName, ChipProfile> = {
  esp32: {
    name: 'esp32',
    displayName: 'ESP32',
    magic: 0x00f01d83,
    securityChipId: null,
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
        [efuse + 4 * 5, 1 << 20],
        [0x3ff66000 + 0x7c, 0x80000000],
      ]);
    },
    romBanner: 'ets Jul 29 2019 12:21:46\r\n\r\n',
    downloadBoot:
      'rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n',
    flashBoot:
      'rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nconfigsip: 0, SPIWP:0xee\r\n' +
      'clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\nmode:DIO, clock div:2\r\n',
  },
  esp32s3: {
    name: 'esp32s3',
    displayName: 'ESP32-S3',
    magic: 0x9,
    securityChipId: 9,
    imageChipId: 9,
    romStatusLen: 2,
    bootloaderOffset: 0x0,
    spi: SPI0_S3_C3,
    xtalHz: 40_000_000,
    registers: block1Registers(0x60007000 + 0x44, 2), // minor revision 2 → v0.2
    romBanner: 'ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n',
    downloadBoot: 'rst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n',
    flashBoot: 'rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nSPIWP:0xee\r\nmode:DIO, clock div:1\r\n',
  },
  esp32c3: {
    name: 'esp32c3',
    displayName: 'ESP32-C3',
    magic: 0x1b31506f,
    securityChipId: 5,
    imageChipId: 5,
    romStatusLen: 2,
    bootloaderOffset: 0x0,
    spi: SPI0_S3_C3,
    xtalHz: 40_000_000,
    registers: block1Registers(0x60008800 + 0x44, 4), // minor revision 4 → v0.4
    romBanner: 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\n',
    downloadBoot: 'rst:0x1 (POWERON),boot:0x5 (DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n',
    flashBoot: 'rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\nSPIWP:0xee\r\nmode:DIO, clock div:1\r\n',
  },
};

export const CHIP_NAMES = Object.keys(CHIPS) as ChipName[];

/** JEDEC id as RDID returns it in SPI_W0: manufacturer, memory type, capacity (log2 of the size). */
export function jedecId(flashSize: number, manufacturer = 0xc8, memType = 0x40): number {
  return manufacturer | (memType << 8) | (Math.log2(flashSize) << 16);
}
