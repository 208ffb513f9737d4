import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCollectorMetrics } from '../../../collector/metrics.js';

const key = (name: string) => ['h1', name, 'stdout', 'info'].join('\u0000');

describe('collector metrics', () => {
  it('drops a container\'s line series once it has not moved for the TTL; a moving one stays', async () => {
    const registry = new Registry();
    const m = createCollectorMetrics(registry, { storageUp: () => true }, [], 200);
    m.countLines(new Map([[key('gone'), 3], [key('busy'), 1]]));
    expect(await registry.metrics()).toContain('shiplog_log_lines_total{host="h1",name="gone",stream="stdout",level="info"} 3');
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m.countLines(new Map([[key('busy'), 1]]));
    }
    const text = await registry.metrics();
    expect(text).not.toContain('name="gone"');
    expect(text).toContain('shiplog_log_lines_total{host="h1",name="busy",stream="stdout",level="info"} 5');
  });
});
