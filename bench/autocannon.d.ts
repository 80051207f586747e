// The part of autocannon's API the benchmarks use (the package ships no type declarations).
declare module 'autocannon' {
  export interface Histogram { average: number; p50: number; p90: number; p99: number; max: number; total: number }
  export interface Result { latency: Histogram; requests: Histogram & { total: number }; throughput: Histogram; errors: number; non2xx: number }
  export interface Options { url: string; connections?: number; duration?: number; amount?: number; pipelining?: number }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}
