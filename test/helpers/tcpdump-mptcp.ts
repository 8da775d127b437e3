/**
 * Test-only parser for tcpdump's MPTCP option text (print-mptcp.c as in tcpdump's own test outputs,
 * `tcpdump -# -n -r FILE`): one {@link TcpdumpMptcp} per `mptcp N …` item of a frame's
 * `options [...]` list. Formats handled:
 *   capable v1 flags [H] {0xKEY,0xKEY,data_len=N}   capable v0 flags [AH] csum {0xKEY}
 *   join [backup] id N token 0x.. nonce 0x..   join id N hmac 0x(16) nonce 0x..   join hmac 0x(40)
 *   dss [fin] [ack N] [seq N subseq N len N [csum 0x..]]
 *   add-addr v1|v1-echo|v0-ip4|v0-ip6 id N ADDR[:PORT] [hmac 0x..]
 *   rem-addr id N [N…]   prio backup|non-backup [id N]   fail seq N   fast-close key 0x..
 *   tcprst flags [T|none] reason TEXT
 * and a trailing `[bad opt]` (tcpdump rejected the option).
 */
import { readFileSync } from 'node:fs';

export interface TcpdumpMptcp {
  /** The whole item text, for messages. */
  text: string;
  /** Option length as printed. */
  length: number;
  /** tcpdump's subtype name: capable, join, dss, add-addr, rem-addr, prio, fail, fast-close, tcprst, unknown. */
  name: string;
  /** tcpdump printed `[bad opt]`. */
  bad: boolean;
  // capable
  version?: number;
  flagLetters?: string;
  csum?: boolean;
  keys?: bigint[];
  dataLen?: number;
  // join
  backup?: boolean;
  id?: number;
  token?: number;
  nonce?: number;
  hmacHex?: string;
  // dss
  fin?: boolean;
  ack?: bigint;
  seq?: bigint;
  subseq?: number;
  len?: number;
  checksum?: number;
  // add-addr
  variant?: string;
  address?: string;
  port?: number;
  // rem-addr
  ids?: number[];
  // fast-close
  key?: bigint;
  // tcprst
  rstFlags?: string;
  reason?: string;
}

/** Frame number → the MPTCP items of that frame, in order (frames without MPTCP are absent). */
export function parseTcpdumpOut(path: string): Map<number, TcpdumpMptcp[]> {
  const text = readFileSync(path, 'utf8');
  // A frame starts with "<number>  <date or time>"; -v output continues on indented lines.
  const records: Array<[number, string]> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d{4}-\d{2}-\d{2} |\d{2}:\d{2}:\d{2}\.)/.exec(line);
    if (m) records.push([Number(m[1]), line]);
    else if (records.length > 0 && line.trim() !== '') records[records.length - 1]![1] += ` ${line.trim()}`;
  }
  const out = new Map<number, TcpdumpMptcp[]>();
  for (const [frame, rec] of records) {
    const items = optionItems(rec).filter((i) => i.startsWith('mptcp '));
    if (items.length > 0) out.set(frame, items.map(parseItem));
  }
  return out;
}

/** The top-level comma-separated items inside `options [ … ]`. */
export function optionItems(rec: string): string[] {
  const start = rec.indexOf('options [');
  if (start < 0) return [];
  let depth = 0;
  let cur = '';
  const items: string[] = [];
  for (let i = start + 'options ['.length; i < rec.length; i++) {
    const c = rec[i]!;
    if (c === '[' || c === '{') depth++;
    if (c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    }
    if (c === ',' && depth === 0) {
      items.push(cur);
      cur = '';
    } else cur += c;
  }
  items.push(cur);
  return items.map((s) => s.trim());
}

const REASONS: Record<string, number> = {
  'Unspecified error': 0,
  'MPTCP-specific error': 1,
  'Lack of resources': 2,
  'Administratively prohibited': 3,
  'Too much outstanding data': 4,
  'Unacceptable performance': 5,
  'Middlebox interference': 6,
};

/** tcpdump's reason text → code (undefined if unknown). */
export function reasonCode(text: string): number | undefined {
  return REASONS[text];
}

export function parseItem(item: string): TcpdumpMptcp {
  const m = /^mptcp (\d+) ([a-z-]+)(.*)$/.exec(item);
  if (!m) throw new Error(`not an mptcp item: ${item}`);
  let rest = m[3]!;
  const r: TcpdumpMptcp = { text: item, length: Number(m[1]), name: m[2]!, bad: false };
  if (rest.endsWith('[bad opt]')) {
    r.bad = true;
    rest = rest.slice(0, -'[bad opt]'.length);
  }
  const num = (re: RegExp): string | undefined => re.exec(rest)?.[1];
  switch (r.name) {
    case 'capable': {
      const v = num(/\bv(\d+)/);
      if (v !== undefined) r.version = Number(v);
      const fl = /flags \[([A-H]*|none)\]/.exec(rest);
      if (fl) r.flagLetters = fl[1] === 'none' ? '' : fl[1];
      r.csum = /\bcsum\b/.test(rest);
      const br = /\{([^}]*)\}/.exec(rest);
      if (br) {
        r.keys = [];
        for (const part of br[1]!.split(',')) {
          if (part.startsWith('0x')) r.keys.push(BigInt(part));
          else if (part.startsWith('data_len=')) r.dataLen = Number(part.slice(9));
          else if (part.startsWith('csum=')) r.checksum = Number(part.slice(5));
        }
      }
      break;
    }
    case 'join': {
      r.backup = /\bbackup\b/.test(rest);
      const id = num(/\bid (\d+)/);
      if (id !== undefined) r.id = Number(id);
      const tok = num(/token (0x[0-9a-f]+)/);
      if (tok !== undefined) r.token = Number(tok);
      const nonce = num(/nonce (0x[0-9a-f]+)/);
      if (nonce !== undefined) r.nonce = Number(nonce);
      const h = num(/hmac 0x([0-9a-f]+)/);
      if (h !== undefined) r.hmacHex = h;
      break;
    }
    case 'dss': {
      r.fin = /\bfin\b/.test(rest);
      const ack = num(/\back (\d+)/);
      if (ack !== undefined) r.ack = BigInt(ack);
      const seq = num(/\bseq (\d+)/);
      if (seq !== undefined) r.seq = BigInt(seq);
      const ss = num(/subseq (\d+)/);
      if (ss !== undefined) r.subseq = Number(ss);
      const len = num(/\blen (\d+)/);
      if (len !== undefined) r.len = Number(len);
      const ck = num(/csum (0x[0-9a-f]+)/);
      if (ck !== undefined) r.checksum = Number(ck);
      break;
    }
    case 'add-addr': {
      const am = /^ (\S+) id (\d+) (\S+)(?: hmac (0x[0-9a-f]+))?\s*$/.exec(rest);
      if (am) {
        r.variant = am[1]!;
        r.id = Number(am[2]);
        let a = am[3]!;
        // IPv4 "a.b.c.d:port"; IPv6 "x::y:port" is ambiguous in tcpdump's print, handled by the caller.
        const pm = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(a);
        if (pm) {
          a = pm[1]!;
          r.port = Number(pm[2]);
        }
        r.address = a;
        if (am[4] !== undefined) r.hmacHex = BigInt(am[4]).toString(16).padStart(16, '0');
      }
      break;
    }
    case 'rem-addr': {
      const ids = /\bid((?: \d+)+)/.exec(rest);
      if (ids) r.ids = ids[1]!.trim().split(' ').map(Number);
      break;
    }
    case 'prio': {
      r.backup = /^ backup/.test(rest);
      const id = num(/\bid (\d+)/);
      if (id !== undefined) r.id = Number(id);
      break;
    }
    case 'fail': {
      const seq = num(/\bseq (\d+)/);
      if (seq !== undefined) r.seq = BigInt(seq);
      break;
    }
    case 'fast-close': {
      const k = num(/key (0x[0-9a-f]+)/);
      if (k !== undefined) r.key = BigInt(k);
      break;
    }
    case 'tcprst': {
      const fl = /flags \[([UVWT]*|none)\]/.exec(rest);
      if (fl) r.rstFlags = fl[1] === 'none' ? '' : fl[1];
      const rs = /reason (.*)$/.exec(rest);
      if (rs) r.reason = rs[1]!.trim();
      break;
    }
  }
  return r;
}
