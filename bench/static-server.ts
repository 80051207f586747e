// The floor for serving /metrics: the same Fastify setup answering a static buffer of a given size.
import { buildServer } from '../lib/server/server.js';

const port = Number(process.argv[2]);
const size = Number(process.argv[3]);
const line = 'static_padding{gpu="0"} 1\n';
const gpuText = line.repeat(Math.ceil(size / line.length)).slice(0, size);
const app = buildServer({
  metrics: () => ({ gpuText, selfText: '' }),
  ready: () => ({ ok: true, reason: '' }),
  landing: { title: 'static', description: 'the floor', links: [] },
});
await app.listen({ host: '127.0.0.1', port });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
