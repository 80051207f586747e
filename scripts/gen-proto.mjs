// Generates the protobuf codecs from our own proto/*.proto with protobufjs's static code
// generator (pbjs -t static-module, ES module, field names as in the .proto) and their TypeScript
// declarations (pbts), into lib/gen/ (not committed), and copies the modules to dist/lib/gen/ for
// the compiled package. Runs as part of every build; a file is generated again only when its
// .proto (or this script) is newer than the output. The gRPC services are assembled from these
// codecs in lib/kubernetes/podresources-api.ts and lib/scaler/keda-api.ts.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const targets = [
  { proto: 'proto/podresources_v1.proto', out: 'podresources' },
  { proto: 'proto/externalscaler.proto', out: 'externalscaler' },
];
const genDir = join(root, 'lib', 'gen');
const distDir = join(root, 'dist', 'lib', 'gen');
mkdirSync(genDir, { recursive: true });
mkdirSync(distDir, { recursive: true });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);
const self = mtime(fileURLToPath(import.meta.url));

for (const t of targets) {
  const proto = join(root, t.proto);
  const js = join(genDir, `${t.out}.js`);
  const dts = join(genDir, `${t.out}.d.ts`);
  if (mtime(js) < Math.max(mtime(proto), self) || mtime(dts) < mtime(js)) {
    execFileSync(bin('pbjs'), [
      '-t', 'static-module', '-w', 'es6', '--keep-case',
      '--no-verify', '--no-delimited', '--no-typeurl', '--no-service',
      '-o', js, proto,
    ], { stdio: 'inherit' });
    execFileSync(bin('pbts'), ['--no-comments', '-o', dts, js], { stdio: 'inherit' });
  }
  copyFileSync(js, join(distDir, `${t.out}.js`));
}
