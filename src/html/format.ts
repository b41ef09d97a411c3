/**
 * Small helpers of the page (browser code): sizes as people read them,
 * addresses, and DOM building that only ever sets text. Names from /proc
 * (commands, users, paths, cgroups) are untrusted: they go into the page
 * with textContent, never innerHTML, after safeText has made control
 * characters and bidi overrides visible.
 */
import { safeText } from "../render/safe-text.js";

export { safeText };

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes in binary units, three significant digits ("512 MiB", "1.50 GiB"). */
export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const neg = n < 0;
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 ? 0 : v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${neg ? "-" : ""}${v.toFixed(digits)} ${UNITS[u]}`;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

type Child = Node | string | null | undefined | false;

/** An element with attributes (set as attributes, never as HTML) and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

/** A tooltip body: lines of [label, value] as DOM (ECharts takes elements, so names never pass through its HTML strings). */
export function tip(title: string, lines: ReadonlyArray<readonly [string, string]>): HTMLElement {
  const t = el("div", { class: "tip" }, el("div", { class: "tip-title" }, title));
  for (const [k, v] of lines) t.append(el("div", {}, el("span", { class: "tip-k" }, k), " ", el("span", { class: "tip-v" }, v)));
  return t;
}
