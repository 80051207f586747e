// /proc/<pid>/cgroup → pod UID and container ID, for every layout real nodes have (one fixture
// each, written by hand from the kubelet's and the runtimes' naming rules), bounds, PID reuse.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgroup, parseStartTime, ProcCgroupReader } from '../../lib/kubernetes/proc-cgroup.js';
import { cgroupText, writeProcTree, type CgroupLayout } from '../../lib/kubernetes/sim-proc.js';

const UID = '4f1c2b3a-5d6e-4a7b-8c9d-0e1f2a3b4c5d';
const CID = 'a'.repeat(40) + '0123456789abcdef01234567';

t.test('every layout: the pod UID (dashes) and the container ID', async (t) => {
  const layouts: CgroupLayout[] = ['cgroupfs-v1', 'cgroupfs-v2', 'cgroupfs-v1-crio', 'systemd-v1-containerd', 'systemd-v2-containerd', 'systemd-v2-crio', 'nested-v2'];
  for (const layout of layouts) {
    for (const qos of ['guaranteed', 'burstable', 'besteffort'] as const) {
      t.same(parseCgroup(cgroupText({ pid: 1, layout, podUid: UID, containerId: CID, qos })), { podUid: UID, containerId: CID }, `${layout}, ${qos}`);
    }
  }
  t.equal(parseCgroup(cgroupText({ pid: 1, layout: 'host' })), null, 'a host process: no pod');
});

t.test('literal lines as nodes write them', async (t) => {
  t.same(parseCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${CID}.scope\n`),
    { podUid: UID, containerId: CID }, 'systemd, cgroup v2, containerd');
  t.same(parseCgroup(`11:memory:/kubepods/besteffort/pod${UID}/${CID}\n10:cpu,cpuacct:/kubepods/besteffort/pod${UID}/${CID}\n`),
    { podUid: UID, containerId: CID }, 'cgroupfs, cgroup v1');
  t.same(parseCgroup(`0::/kubepods/burstable/pod${UID}/crio-conmon-${CID}\n`), { podUid: UID, containerId: null },
    'the CRI-O monitor process: the pod, no container');
  t.same(parseCgroup('0::/kubepods/pod0123456789abcdef0123456789abcdef/' + CID + '\n'),
    { podUid: '0123456789abcdef0123456789abcdef', containerId: CID }, 'a static pod (32-hex UID)');
  t.equal(parseCgroup('0::/user.slice/user-1000.slice/session-3.scope\n'), null);
  t.equal(parseCgroup('0::/kubepods/burstable/podnot-a-uid/x\n'), null, 'no UID shape, no pod');
  t.equal(parseCgroup(''), null);
  t.equal(parseCgroup('garbage without colons\n'), null);
});

t.test('bounds: long lines and many lines are not scanned', async (t) => {
  const long = `0::/${'x/'.repeat(3000)}kubepods/pod${UID}/${CID}\n`;
  t.equal(parseCgroup(long), null, 'a line over 4096 characters is skipped');
  const many = '1:cpu:/\n'.repeat(300) + `0::/kubepods/pod${UID}/${CID}\n`;
  t.equal(parseCgroup(many), null, 'only the first 256 lines count');
  const t0 = performance.now();
  parseCgroup(('0::/' + 'pod-'.repeat(1000) + '\n').repeat(200));
  t.ok(performance.now() - t0 < 2000, 'pathological input is linear (generous bound on a loaded machine)');
});

t.test('start time from /proc/<pid>/stat, with spaces and parentheses in the command name', async (t) => {
  const fields = Array.from({ length: 30 }, (_, i) => String(i + 3));
  t.equal(parseStartTime(`42 (a) b (c)) ${fields.join(' ')}`), '22');
  t.equal(parseStartTime('nonsense'), null);
});

t.test('the reader: a fake /proc, a reused PID read again, unreadable PIDs, the PID bound', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'nvx-proc-unit-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeProcTree(root, [{ pid: 10, layout: 'cgroupfs-v2', podUid: UID, containerId: CID, startTime: 500 }, { pid: 11, layout: 'host' }]);
  const r = new ProcCgroupReader(root);
  let res = await r.resolve([10, 11, 12, 10]);
  t.same(res.get(10), { podUid: UID, containerId: CID });
  t.equal(res.get(11), null, 'host process');
  t.equal(res.get(12), 'unreadable', 'no such PID');
  // PID 10 exits and a new process of another pod gets PID 10: a new start time, read again
  const other = '11111111-2222-4333-8444-555555555555';
  writeProcTree(root, [{ pid: 10, layout: 'systemd-v2-crio', podUid: other, containerId: CID, startTime: 900 }]);
  res = await r.resolve([10]);
  t.same(res.get(10), { podUid: other, containerId: CID }, 'the reused PID is resolved anew');
  // a directory where the cgroup file should be: unreadable, never a hang
  mkdirSync(join(root, '13', 'cgroup'), { recursive: true });
  writeFileSync(join(root, '13', 'stat'), 'x');
  res = await r.resolve([13]);
  t.equal(res.get(13), 'unreadable');
  const many = Array.from({ length: 5000 }, (_, i) => 100000 + i);
  res = await r.resolve(many);
  t.equal(res.size, 5000);
  t.equal([...res.values()].filter((v) => v === 'unreadable').length, 5000, 'past 4096 PIDs are not read (and the rest are missing here)');
});
