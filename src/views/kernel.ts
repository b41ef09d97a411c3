/** The kernel view: every kernel feature pagelens uses, whether this kernel has it and why not. */
import { probeKernel } from "../kernel/features.js";
import { buildKernelReport, type KernelReport } from "../report/kernel-report.js";
import type { ViewSource } from "./source.js";

export function kernelView(src: ViewSource): KernelReport {
  // `pagelens kernel` tries the PAGEMAP_SCAN ioctl on our own pagemap, so it can say whether it works here.
  return buildKernelReport(probeKernel(src.procfs, { probePagemapScan: true }));
}
