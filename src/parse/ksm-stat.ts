/**
 * /proc/PID/ksm_stat (mm/ksm.c via fs/proc/base.c proc_pid_ksm_stat), e.g.
 *
 *   ksm_rmap_items 0
 *   ksm_zero_pages 0
 *   ksm_merging_pages 0
 *   ksm_process_profit 0
 *   ksm_merge_any: no
 *   ksm_mergeable: no
 *
 * Older kernels print fewer of these lines (ksm_mergeable is the newest
 * of them); each is read when present.
 */
export interface KsmStat {
  readonly rmapItems: number | undefined;
  readonly mergingPages: number | undefined;
  readonly zeroPages: number | undefined;
  /** MMF_VM_MERGE_ANY (prctl PR_SET_MEMORY_MERGE). */
  readonly mergeAny: boolean | undefined;
  /** Any mapping of the process is VM_MERGEABLE, or merge-any is set (ksm_process_mergeable). */
  readonly mergeable: boolean | undefined;
}

export function parseKsmStat(text: string): KsmStat {
  const v = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\w+):?\s+(\S+)\s*$/.exec(line);
    if (m) v.set(m[1]!, m[2]!);
  }
  const num = (k: string): number | undefined => {
    const s = v.get(k);
    return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined;
  };
  const yes = (k: string): boolean | undefined => {
    const s = v.get(k);
    return s === "yes" ? true : s === "no" ? false : undefined;
  };
  return {
    rmapItems: num("ksm_rmap_items"),
    mergingPages: num("ksm_merging_pages"),
    zeroPages: num("ksm_zero_pages"),
    mergeAny: yes("ksm_merge_any"),
    mergeable: yes("ksm_mergeable"),
  };
}

/**
 * Can the process map a KSM page? KSM pages are only ever mapped in
 * VM_MERGEABLE mappings: ksmd merges only there (mm/ksm.c
 * ksm_scan/cmp_and_merge_page), a fork copies the flag with the mapping, and
 * MADV_UNMERGEABLE or PR_SET_MEMORY_MERGE 0 unmerge every KSM page of a
 * range before they clear it (unmerge_ksm_pages). So "ksm_mergeable: no"
 * proves there is none. Without that line (older kernels) nothing does: a
 * child forked after a merge maps KSM pages with no rmap item of its own
 * until ksmd visits it, so ksm_merging_pages 0 is not proof.
 */
export function mayMapKsmPages(s: KsmStat): boolean {
  if (s.mergeable === undefined) return true;
  return s.mergeable || s.mergeAny === true || (s.mergingPages ?? 0) > 0 || (s.rmapItems ?? 0) > 0;
}
