// One timer for many periodic jobs (the scaler's pulls): items run once their due time has come,
// earliest first (ties in the order they were scheduled), and can be moved or taken out.
import t from 'tap';
import { DueQueue } from '../../lib/scaler/due-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('items run in due order, each once, after their time', async (t) => {
  const ran: { item: string; late: number }[] = [];
  const due = new Map<string, number>();
  const q = new DueQueue<string>({ run: (item) => ran.push({ item, late: Date.now() - due.get(item)! }) });
  const now = Date.now();
  for (const [item, ms] of [['c', 60], ['a', 20], ['b', 40], ['a2', 20]] as const) {
    due.set(item, now + ms);
    q.schedule(item, now + ms);
  }
  t.equal(q.size, 4);
  t.equal(q.dueAt('b'), now + 40);
  await sleep(150);
  t.same(ran.map((r) => r.item), ['a', 'a2', 'b', 'c'], 'earliest first; equal times in schedule order');
  t.ok(ran.every((r) => r.late >= 0), 'never before its time');
  t.equal(q.size, 0, 'a run item has left the queue');
  t.equal(q.dueAt('a'), undefined);
  q.stop();
});

t.test('moving an item earlier or later, taking it out, stopping', async (t) => {
  const ran: string[] = [];
  const q = new DueQueue<string>({ run: (item) => ran.push(item) });
  const now = Date.now();
  q.schedule('late', now + 30);
  q.schedule('early', now + 10_000);
  q.schedule('gone', now + 20);
  q.schedule('early', now + 10); // moved up
  q.schedule('late', now + 10_000); // moved away
  q.delete('gone');
  q.delete('never-queued');
  await sleep(100);
  t.same(ran, ['early'], 'only the item now due ran');
  t.equal(q.size, 1);
  q.stop();
  q.schedule('after-stop', Date.now());
  await sleep(30);
  t.same(ran, ['early'], 'nothing runs after stop');
  t.equal(q.size, 0);
});

t.test('a job that schedules itself again runs again; one that throws does not stop the others', async (t) => {
  let runs = 0;
  const ran: string[] = [];
  const q: DueQueue<string> = new DueQueue<string>({
    run: (item) => {
      ran.push(item);
      if (item === 'bad') throw new Error('boom');
      if (item === 'again' && ++runs < 3) q.schedule('again', Date.now());
    },
  });
  const now = Date.now();
  q.schedule('bad', now);
  q.schedule('again', now);
  await sleep(100);
  t.same(ran, ['bad', 'again', 'again', 'again']);
  q.stop();
});

t.test('many items: a heap, not a timer each', async (t) => {
  const ran: number[] = [];
  const q = new DueQueue<number>({ run: (i) => ran.push(i) });
  const now = Date.now();
  const order = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
  for (const i of order) q.schedule(i, now + 5 + (i % 50));
  for (let i = 0; i < 500; i += 5) q.delete(i);
  await sleep(150);
  const want = order.filter((i) => i % 5 !== 0).sort((a, b) => (a % 50) - (b % 50) || order.indexOf(a) - order.indexOf(b));
  t.same(ran, want, 'every item left, by due time, ties in schedule order');
  q.stop();
});
