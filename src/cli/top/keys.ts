/**
 * top's keys, pure: (state, key) -> state. Key names are terminal-kit's
 * ("ESCAPE", "CTRL_C", "UP", "PAGE_DOWN", ...; a printable key is itself),
 * but nothing here loads the library, so the unit tests drive it directly.
 */
import { TOP_SORT_KEYS, TOP_VIEWS, type TopSortKey, type TopViewName } from "./model.js";

export interface UiState {
  readonly view: TopViewName;
  readonly sort: TopSortKey;
  readonly reverse: boolean;
  /** The filter in force ("" for none). */
  readonly filter: string;
  /** While the filter is being typed (after "/"): true. It applies as it is typed. */
  readonly editing: boolean;
  /** First row shown. */
  readonly scroll: number;
  readonly help: boolean;
}

export const INITIAL_UI: UiState = { view: "processes", sort: "pss", reverse: false, filter: "", editing: false, scroll: 0, help: false };

export interface KeyOutcome {
  readonly state: UiState;
  readonly quit?: boolean;
  /** Scan now rather than at the next tick (still never while a scan runs). */
  readonly refresh?: boolean;
}

const SORT_BY_KEY: Readonly<Record<string, TopSortKey>> = { p: "pss", u: "uss", r: "rss", s: "swap", n: "name" };
const VIEW_BY_KEY: Readonly<Record<string, TopViewName>> = { "1": "processes", "2": "users", "3": "cgroups", "4": "libraries" };

/** The help screen's lines, next to the code that gives the keys their meaning. */
export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["p u r s", "sort by PSS, USS, RSS, swap (largest first)"],
  ["n", "sort by name"],
  ["R", "reverse the sort order"],
  ["Tab v", "next view: processes, users, cgroups, libraries"],
  ["1 2 3 4", "processes, users, cgroups, libraries"],
  ["/", "filter by name: type text (applies as typed), Enter keeps it"],
  ["Esc", "clear the filter"],
  ["Up Down j k", "scroll one row"],
  ["PgUp PgDn", "scroll one page"],
  ["Home End g G", "first / last row"],
  ["Space", "refresh now"],
  ["?", "this help (any key closes it)"],
  ["q Ctrl-C", "quit"],
];

function nextView(v: TopViewName, step: number): TopViewName {
  const i = TOP_VIEWS.indexOf(v);
  return TOP_VIEWS[(i + step + TOP_VIEWS.length) % TOP_VIEWS.length]!;
}

/**
 * One key. `page` is the number of rows on screen (for PgUp/PgDn); scrolling
 * past the end is clamped when the frame is drawn (the state does not know
 * how many rows there are).
 */
export function handleKey(s: UiState, key: string, page: number): KeyOutcome {
  if (key === "CTRL_C") return { state: s, quit: true };
  if (s.editing) {
    if (key === "ENTER" || key === "KP_ENTER") return { state: { ...s, editing: false } };
    if (key === "ESCAPE") return { state: { ...s, editing: false, filter: "", scroll: 0 } };
    if (key === "BACKSPACE") return { state: { ...s, filter: s.filter.slice(0, -1), scroll: 0 } };
    // A printable character (terminal-kit names special keys in capitals with "_" or as words like "UP").
    if ([...key].length === 1 && key >= " ") return { state: { ...s, filter: s.filter + key, scroll: 0 } };
    return { state: s };
  }
  if (s.help) return key === "q" ? { state: s, quit: true } : { state: { ...s, help: false } };
  const sort = SORT_BY_KEY[key];
  if (sort !== undefined && TOP_SORT_KEYS.includes(sort)) return { state: { ...s, sort, scroll: 0 } };
  const view = VIEW_BY_KEY[key];
  if (view !== undefined) return view === s.view ? { state: s } : { state: { ...s, view, scroll: 0 } };
  switch (key) {
    case "q":
      return { state: s, quit: true };
    case "R":
      return { state: { ...s, reverse: !s.reverse, scroll: 0 } };
    case "TAB":
    case "v":
      return { state: { ...s, view: nextView(s.view, 1), scroll: 0 } };
    case "SHIFT_TAB":
      return { state: { ...s, view: nextView(s.view, -1), scroll: 0 } };
    case "/":
      return { state: { ...s, editing: true, filter: "", scroll: 0 } };
    case "ESCAPE":
      return { state: { ...s, filter: "", scroll: 0 } };
    case "UP":
    case "k":
      return { state: { ...s, scroll: Math.max(0, s.scroll - 1) } };
    case "DOWN":
    case "j":
      return { state: { ...s, scroll: s.scroll + 1 } };
    case "PAGE_UP":
      return { state: { ...s, scroll: Math.max(0, s.scroll - Math.max(1, page)) } };
    case "PAGE_DOWN":
      return { state: { ...s, scroll: s.scroll + Math.max(1, page) } };
    case "HOME":
    case "g":
      return { state: { ...s, scroll: 0 } };
    case "END":
    case "G":
      return { state: { ...s, scroll: Number.MAX_SAFE_INTEGER } };
    case " ":
      return { state: s, refresh: true };
    case "?":
      return { state: { ...s, help: true } };
    default:
      return { state: s };
  }
}
