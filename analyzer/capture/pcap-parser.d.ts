/**
 * Types for the npm package `pcap-parser` 0.2.1 (CommonJS, no bundled types).
 * https://github.com/nearinfinity/node-pcap-parser — reads classic microsecond pcap (magic
 * a1b2c3d4 in either byte order) from a path or a readable stream, one event per record.
 */
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';
  import type { Readable } from 'node:stream';

  /** The 24-byte file header, fields in host numbers (the parser handled the byte order). */
  export interface GlobalHeader {
    magicNumber: number;
    majorVersion: number;
    minorVersion: number;
    gmtOffset: number;
    timestampAccuracy: number;
    /** Snapshot length, bytes. */
    snapshotLength: number;
    /** Full LinkType field (LINKTYPE_* in the low 16 bits). */
    linkLayerType: number;
  }

  /** The 16-byte record header. */
  export interface PacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }

  export interface Packet {
    header: PacketHeader;
    /** A slice of the parser's buffer, `header.capturedLength` bytes. */
    data: Buffer;
  }

  /** Emits 'globalHeader', 'packetHeader', 'packetData', 'packet', 'end', 'error'. */
  export interface Parser extends EventEmitter {
    on(event: 'globalHeader', listener: (h: GlobalHeader) => void): this;
    on(event: 'packetHeader', listener: (h: PacketHeader) => void): this;
    on(event: 'packetData', listener: (d: Buffer) => void): this;
    on(event: 'packet', listener: (p: Packet) => void): this;
    on(event: 'end', listener: () => void): this;
    on(event: 'error', listener: (e: Error) => void): this;
    /** Internal: set to stop further parsing. */
    errored?: boolean;
    stream: Readable;
  }

  /** Starts parsing a file path or a readable stream (parsing begins on the next tick). */
  export function parse(input: string | Readable): Parser;

  const pcapParser: { parse: typeof parse };
  export default pcapParser;
}
