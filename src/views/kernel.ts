/** The kernel view: every kernel feature pagelens uses, whether this kernel has it and why not. */
import { probeKernel } from "../kernel/features.js";
import { buildKernelReport, type KernelReport } from "../report/kernel-report.js";
import type { ViewSource } from "./source.js";

export function kernelView(src: ViewSource): KernelReport {
  return buildKernelReport(probeKernel(src.procfs));
}
