import { it } from 'vitest';
import { openCapture } from '../../analyzer/capture/open.js';
it('scratch', async () => {
  for (const f of ['01-basic.client.pcap', '01-basic.server.pcapng', '07a-mbox-strip-synack.router.pcapng']) {
    for (const reader of ['fast', 'pcap-parser'] as const) {
      const t = Date.now();
      let first: unknown;
      const s = await openCapture('/work/shared/captures/linux/' + f, { reader }).run({ frame(fr) { if (fr.number === 1) first = { ...fr, data: fr.data.length }; } });
      console.log(f, reader, Date.now() - t, JSON.stringify(first), JSON.stringify({ ...s, issues: s.issues.length }));
    }
  }
});
