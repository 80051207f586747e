// Liveness under attack: GETs each path on a fresh connection every `everyMs` for `windowMs`, and
// reports the slowest answer (ms), the failures (an error, a timeout after 3 s, or a non-2xx) and
// how many requests were made. Shared by the attack tests and `npm run campaign`.
export async function probeLiveness(url: string, paths: readonly string[], windowMs: number, everyMs = 100): Promise<{ slowest: number; failed: number; n: number }> {
  const until = Date.now() + windowMs;
  let slowest = 0;
  let failed = 0;
  let n = 0;
  while (Date.now() < until) {
    for (const p of paths) {
      const t0 = performance.now();
      const ok = await fetch(url + p, { headers: { connection: 'close' }, signal: AbortSignal.timeout(3000) })
        .then(async (r) => { await r.arrayBuffer(); return r.ok; }, () => false);
      slowest = Math.max(slowest, performance.now() - t0);
      n++;
      if (!ok) failed++;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return { slowest: Math.round(slowest), failed, n };
}
