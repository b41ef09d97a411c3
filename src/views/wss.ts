/**
 * The wss view: working-set size of processes over time, one sample per
 * interval, by the best mechanism the kernel offers (scan/working-set.ts).
 * Two of the three mechanisms reset the pages' bits, which changes what the
 * kernel's reclaim knows about them: they run only with `reset`.
 */
import { KernelFeatureError, NoSuchProcessError, ProcessGoneError, UsageError } from "../errors.js";
import { probeKernel, type KernelInfo } from "../kernel/features.js";
import { UserNames } from "../procfs/users.js";
import { buildWssReport, exitedSample, METHOD_SCOPE, sampleOf, type WssInterval, type WssProcessRef, type WssProcessSample, type WssReport } from "../report/wss-report.js";
import { commandOf, readProcessInfo } from "../scan/process-info.js";
import { accessedSampler, idleSampler, softDirtySampler, type WssMethod, type WssSampler } from "../scan/working-set.js";
import type { ViewSource } from "./source.js";

export interface WssViewOptions {
  /** Seconds per interval. */
  readonly interval: number;
  /** Intervals to measure; 0 = until the signal aborts. */
  readonly count: number;
  /** A mechanism, or "auto": idle page tracking where the kernel has it, else the accessed bits (with reset). */
  readonly method?: WssMethod | "auto";
  /** Allow the methods that reset the pages' accessed or soft-dirty bits. */
  readonly reset?: boolean;
  /** Keep the N mappings with the most pages used, per interval and in the summary. */
  readonly mappings?: number;
}

export interface WssHooks {
  /** Wait `ms`; resolves early (or rejects) when `signal` aborts. Tests pass their own. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called with each interval as soon as it is measured (the CLI prints it then). */
  readonly onInterval?: (interval: WssInterval, processes: readonly WssProcessRef[]) => void;
  /** Called once the method is chosen and the processes found, before the first interval. */
  readonly onStart?: (report: Pick<WssReport, "method" | "sees" | "misses" | "resets" | "intervalSeconds">) => void;
  /** Stops the measurement after the interval in progress is dropped (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Which mechanism to use, or why none can be used as asked. */
export function chooseMethod(kernel: KernelInfo, asked: WssMethod | "auto", reset: boolean): WssMethod {
  const f = kernel.features;
  const needReset = (m: WssMethod): WssMethod => {
    if (reset) return m;
    throw new UsageError(
      `wss --method ${m} ${METHOD_SCOPE[m].resets}; pagelens does this only when asked: add --reset to allow it` +
        (f.idlePageTracking.available ? "" : ` (idle page tracking, which resets nothing, is not available: ${f.idlePageTracking.note})`),
    );
  };
  switch (asked) {
    case "idle":
      if (!f.idlePageTracking.available) throw new KernelFeatureError("idle page tracking", f.idlePageTracking.note ?? "not available");
      return "idle";
    case "soft-dirty":
      if (!f.softDirty.available) throw new KernelFeatureError("soft-dirty", f.softDirty.note ?? "not available");
      return needReset("soft-dirty");
    case "accessed":
      return needReset("accessed");
    case "auto":
      return f.idlePageTracking.available ? "idle" : needReset("accessed");
  }
}

function samplerFor(src: ViewSource, pid: number, method: WssMethod, pageSize: number): WssSampler {
  switch (method) {
    case "accessed":
      return accessedSampler(src.procfs, pid);
    case "soft-dirty":
      return softDirtySampler(src.procfs, pid, pageSize);
    case "idle": {
      const s = idleSampler(src.procfs, pid, pageSize);
      if (!s) throw new KernelFeatureError("idle page tracking", `no ${src.procfs.sysPath("kernel/mm/page_idle/bitmap") ?? "sysfs root"}`);
      return s;
    }
  }
}

export async function wssView(src: ViewSource, pids: readonly number[], o: WssViewOptions, hooks: WssHooks): Promise<WssReport> {
  if (!(o.interval > 0)) throw new UsageError(`--interval: expected a positive number of seconds, got ${o.interval}`);
  const kernel = probeKernel(src.procfs);
  const method = chooseMethod(kernel, o.method ?? "auto", o.reset === true);
  const users = new UserNames(src.passwdFile);
  const processes: WssProcessRef[] = [];
  for (const pid of pids) {
    let info;
    try {
      info = readProcessInfo(src.procfs, pid, users);
    } catch (err) {
      if (err instanceof ProcessGoneError) throw new NoSuchProcessError(pid);
      throw err;
    }
    if (info.cmdline.length === 0 && src.procfs.readText(`${pid}/maps`, pid).trim() === "")
      throw new UsageError(`process ${pid} (${info.comm}) has no user memory: a kernel thread or zombie has no working set`);
    processes.push({ pid, command: commandOf(info), user: info.user });
  }

  const notes: string[] = [];
  const samplers = new Map<number, WssSampler>();
  const intervals: WssInterval[] = [];
  try {
    for (const p of processes) {
      const s = samplerFor(src, p.pid, method, kernel.pageSize);
      samplers.set(p.pid, s);
      try {
        s.start();
      } catch (err) {
        if (!(err instanceof ProcessGoneError)) throw err;
        samplers.delete(p.pid);
        s.close();
        notes.push(`process ${p.pid} exited before the first interval`);
      }
    }
    hooks.onStart?.({ method, ...METHOD_SCOPE[method], intervalSeconds: o.interval });
    let last = performance.now();
    for (let index = 1; o.count === 0 || index <= o.count; index++) {
      if (samplers.size === 0) break;
      await hooks.sleep(o.interval * 1000, hooks.signal);
      if (hooks.signal?.aborted) break; // an interval cut short is not a sample
      const samples: WssProcessSample[] = [];
      for (const p of processes) {
        const s = samplers.get(p.pid);
        if (!s) continue;
        try {
          samples.push(sampleOf(p.pid, s.finish(), kernel.pageSize, o.mappings));
        } catch (err) {
          if (!(err instanceof ProcessGoneError)) throw err;
          samples.push(exitedSample(p.pid));
          samplers.delete(p.pid);
          s.close();
          notes.push(`process ${p.pid} exited during interval ${index}`);
        }
      }
      const now = performance.now();
      const interval: WssInterval = { index, endedAt: new Date().toISOString(), seconds: (now - last) / 1000, processes: samples };
      last = now;
      intervals.push(interval);
      hooks.onInterval?.(interval, processes);
    }
  } finally {
    for (const s of samplers.values()) s.close();
  }
  if (samplers.size === 0 && processes.length > 0 && intervals.length > 0) notes.push("every process measured has exited");
  return buildWssReport({ method, intervalSeconds: o.interval, pageSize: kernel.pageSize, processes, intervals, mappings: o.mappings, notes });
}
