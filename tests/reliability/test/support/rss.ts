import { Worker } from "node:worker_threads";

export const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal, for reports. */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

// Runs in a worker thread, so that the samples keep coming while the test's own thread is busy decoding large
// responses. Writes [peak, last, samples] into the shared buffer until told to stop (slot 3 set to 1).
const SAMPLER_SOURCE = `
const { readFileSync } = require("node:fs");
const { workerData } = require("node:worker_threads");
const cells = new Float64Array(workerData.buffer);
const read = () => {
  try {
    const match = /VmRSS:\\s+(\\d+)\\s+kB/.exec(readFileSync("/proc/" + workerData.pid + "/status", "utf8"));
    return match ? Number(match[1]) * 1024 : -1;
  } catch {
    return -1;
  }
};
const tick = () => {
  if (cells[3] === 1) return;
  const rss = read();
  if (rss >= 0) {
    if (rss > cells[0]) cells[0] = rss;
    cells[1] = rss;
    cells[2] += 1;
  }
  setTimeout(tick, workerData.intervalMs);
};
tick();
`;

/**
 * Samples the VmRSS of process `pid` every `intervalMs` (default 50) from a worker thread and keeps the peak.
 * `stop()` returns the peak; `peak` and `last` can be read while it runs.
 */
export class RssSampler {
  readonly #cells: Float64Array;
  readonly #worker: Worker;
  readonly startedAt = performance.now();

  constructor(pid: number, intervalMs = 50) {
    const buffer = new SharedArrayBuffer(4 * Float64Array.BYTES_PER_ELEMENT);
    this.#cells = new Float64Array(buffer);
    this.#worker = new Worker(SAMPLER_SOURCE, { eval: true, workerData: { buffer, pid, intervalMs } });
    this.#worker.unref();
  }

  get peak(): number {
    return this.#cells[0]!;
  }

  get last(): number {
    return this.#cells[1]!;
  }

  get samples(): number {
    return this.#cells[2]!;
  }

  /** Stops sampling (one last sample is taken first) and returns the peak. */
  async stop(): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 60));
    this.#cells[3] = 1;
    await this.#worker.terminate();
    return this.peak;
  }
}
