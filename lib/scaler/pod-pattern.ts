// Pod-name rules of a ScaledObject, matched in linear time, and the fair scheduler that runs the
// matching of many RPCs without starving anything else on the event loop.
//
// `podNamePattern` comes from any tenant that can create a ScaledObject. JavaScript's RegExp
// backtracks (`^(.|.|.)*!$` against a 19-character name runs for minutes), so patterns are
// compiled with re2js, a JavaScript port of RE2 whose matching time is linear in the input (no
// lookaround, no backreferences: RE2 syntax). The pattern's length and compiled program size are
// bounded, so the cost of one match is bounded too (≈ 1-40 µs for a 253-character name here).
import { RE2JS } from 're2js';

/** Longest accepted `podNamePattern` (a pod name itself is at most 253 characters). */
export const MAX_POD_PATTERN_CHARS = 512;
/** Largest accepted compiled RE2 program (`[a-z]{1,1000}` is 2,001 instructions). */
export const MAX_POD_PATTERN_PROGRAM = 4096;

export interface PodNameMatcher {
  /** whether the pod name is one of the workload's */
  test(podName: string): boolean;
  /** true when test() is so cheap that it needs no scheduling (a prefix comparison) */
  readonly trivial: boolean;
}

/** `deployment: vllm` → pods `vllm-…` (a prefix comparison, no regular expression). */
export function deploymentMatcher(name: string): PodNameMatcher {
  const prefix = `${name}-`;
  return { test: (pod) => pod.startsWith(prefix), trivial: true };
}

/** Thrown for a pattern that is too long, too large or not RE2 syntax; `why` is for the user. */
export class PodPatternError extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'PodPatternError';
  }
}

/** Compiles a user pattern (unanchored search, as RegExp.test would do) into a linear-time matcher. */
export function compilePodPattern(pattern: string): PodNameMatcher {
  if (pattern.length > MAX_POD_PATTERN_CHARS) {
    throw new PodPatternError(`a regular expression of at most ${MAX_POD_PATTERN_CHARS} characters (got ${pattern.length})`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    throw new PodPatternError(`a valid regular expression in RE2 syntax, without lookaround or backreferences (${(err as Error).message})`);
  }
  const size = re.programSize();
  if (size > MAX_POD_PATTERN_PROGRAM) {
    throw new PodPatternError(`a simpler regular expression: it compiles to ${size} instructions, more than the ${MAX_POD_PATTERN_PROGRAM} accepted (lower its repetition counts)`);
  }
  return { test: (pod) => re.test(pod), trivial: false };
}

/**
 * Runs matching work in slices: one slice of at most `sliceMs` per turn of the event loop, taken
 * round-robin from the jobs waiting, so between two slices every other callback (HTTP requests,
 * other RPCs, sweeps) runs. A job is a list of names to test with one matcher.
 */
export class FairMatcher {
  private readonly queue: Job[] = [];
  private scheduled = false;

  constructor(private readonly sliceMs = 2) {}

  /** The subset of `names` that `matcher` accepts. Trivial matchers are answered at once. */
  match(matcher: PodNameMatcher, names: readonly string[]): Promise<Set<string>> {
    if (matcher.trivial || names.length === 0) return Promise.resolve(new Set(names.filter((n) => matcher.test(n))));
    return new Promise((resolve) => {
      this.queue.push({ matcher, names, next: 0, out: new Set(), resolve });
      this.schedule();
    });
  }

  /** jobs waiting (for tests and self-metrics) */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.slice());
  }

  private slice(): void {
    this.scheduled = false;
    const job = this.queue.shift();
    if (!job) return;
    const until = performance.now() + this.sliceMs;
    const { names, matcher, out } = job;
    while (job.next < names.length) {
      const n = names[job.next++]!;
      if (matcher.test(n)) out.add(n);
      // check the clock every 16 names: a match is microseconds
      if ((job.next & 15) === 0 && performance.now() >= until) break;
    }
    if (job.next < names.length) this.queue.push(job);
    else job.resolve(out);
    this.schedule();
  }
}

interface Job {
  matcher: PodNameMatcher;
  names: readonly string[];
  next: number;
  out: Set<string>;
  resolve(out: Set<string>): void;
}
