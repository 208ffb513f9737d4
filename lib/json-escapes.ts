/**
 * JSON's one-letter string escapes, as [the byte, the letter after the backslash]: what the
 * agent writes for those bytes (ship/record.ts) and reads back from Docker's json-file
 * (files/json-file.ts, which also takes `\/`, an escape JSON allows but nobody needs to write).
 */
export const SHORT_ESCAPES: readonly (readonly [byte: number, letter: number])[] = [
  [0x22, 0x22], // "
  [0x5c, 0x5c], // \
  [0x08, 0x62], // b
  [0x0c, 0x66], // f
  [0x0a, 0x6e], // n
  [0x0d, 0x72], // r
  [0x09, 0x74], // t
];
