/** decodePacket wrappers shared by the wire tests. */
import type { DecodeIssue } from '../../analyzer/issue.js';
import { decodePacket } from '../../analyzer/wire/packet.js';
import type { PacketDecode, TcpSegment } from '../../analyzer/wire/types.js';

/** Decode one frame as file `x.pcap`, returning the result and the issues it raised. */
export function run(frame: Parameters<typeof decodePacket>[0]): { d: PacketDecode; issues: DecodeIssue[] } {
  const issues: DecodeIssue[] = [];
  return { d: decodePacket(frame, 'x.pcap', issues), issues };
}

/** The TCP segment of a decode result; throws when the frame did not decode as TCP. */
export function segOf(d: PacketDecode): TcpSegment {
  if (d.kind !== 'tcp') throw new Error(`expected tcp, got ${JSON.stringify(d)}`);
  return d.segment;
}
