/** The report's stylesheet: system fonts only (nothing to load), dark text on light, level colours as the terminal table's. */
export const REPORT_STYLE = `
:root {
  --critical: #9b0000; --high: #e03a2f; --medium: #f2a900; --low: #2e8b3e; --informational: #9aa4ae;
  --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --bg: #f4f6f8; --card: #fff; --accent: #0b5cad;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
.top { background: var(--card); border-bottom: 1px solid var(--line); padding: 14px 24px; }
.top h1 { font-size: 20px; margin: 0 0 2px; }
.top p { margin: 0; color: var(--muted); }
main { padding: 16px 24px 48px; max-width: 1680px; margin: 0 auto; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px 14px; margin: 0 0 16px; min-width: 0; }
h2 { font-size: 16px; margin: 0 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .s { color: var(--muted); font-size: 12px; }
.inputs { margin: 10px 0 0; padding-left: 18px; color: var(--muted); }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
@media (max-width: 1100px) { .cols { grid-template-columns: minmax(0, 1fr); } }
.badge { display: inline-block; min-width: 6.6em; text-align: center; padding: 1px 6px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.b-critical { background: var(--critical); color: #fff; }
.b-high { background: var(--high); color: #fff; }
.b-medium { background: var(--medium); color: #1f2328; }
.b-low { background: var(--low); color: #fff; }
.b-informational { background: #e3e7eb; color: #333; }
.f-critical { fill: var(--critical); } .f-high { fill: var(--high); } .f-medium { fill: var(--medium); }
.f-low { fill: var(--low); } .f-informational { fill: var(--informational); } .f-bar { fill: var(--accent); }
.chart { width: 100%; height: auto; display: block; }
.chart text { font-size: 11px; fill: var(--muted); }
.chart .grid { stroke: var(--line); stroke-width: 1; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: var(--muted); margin-top: 6px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.legend .l-critical::before { background: var(--critical); } .legend .l-high::before { background: var(--high); }
.legend .l-medium::before { background: var(--medium); } .legend .l-low::before { background: var(--low); }
.legend .l-informational::before { background: var(--informational); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.mono, td.details, .fields pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
.sub { color: var(--muted); font-size: 12px; }
.bar { width: 30%; }
.bar svg { width: 100%; height: 10px; display: block; }
.note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
.warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 4px; padding: 6px 10px; margin: 0 0 10px; }
.matrix { display: flex; gap: 4px; overflow-x: auto; padding-bottom: 4px; }
.tactic { flex: 1 1 0; min-width: 100px; }
/* A tactic without detections is a narrow column, its name written upwards: the kill chain stays whole and readable. */
.tactic.empty { flex: 0 0 28px; min-width: 28px; }
.tactic h3 { font-size: 12px; margin: 0; padding: 6px; background: #24292f; color: #fff; border-radius: 4px 4px 0 0; min-height: 4.4em; overflow-wrap: break-word; }
.tactic.empty h3 { background: #aab3bc; writing-mode: vertical-rl; transform: rotate(180deg); min-height: 12.5em; padding: 6px 4px; border-radius: 4px; font-weight: 500; }
.tactic.empty h3 span { display: none; }
.tactic h3 span { display: block; font-weight: 400; opacity: .85; }
.tactic ul { list-style: none; margin: 0; padding: 0; }
.tactic li { margin-top: 3px; padding: 3px 6px; border-radius: 3px; font-size: 12px; display: flex; justify-content: space-between; gap: 6px; background: #f2f4f6; }
.tactic li.s1 { background: #fde4e1; } .tactic li.s2 { background: #f9c4bd; } .tactic li.s3 { background: #f29a8e; }
.tactic li.s4 { background: #e3604f; color: #fff; } .tactic li.s5 { background: #b3261e; color: #fff; }
.controls { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin-bottom: 8px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--fg); }
input[type=search] { min-width: 280px; }
button { cursor: pointer; }
#detections th[data-key] { cursor: pointer; user-select: none; }
#detections th[aria-sort=ascending]::after { content: " \\25B2"; }
#detections th[aria-sort=descending]::after { content: " \\25BC"; }
#detections tr.row { cursor: pointer; }
#detections tr.row:hover { background: #f3f6f9; }
#detections { table-layout: fixed; }
#detections td { overflow-wrap: anywhere; }
#detections col.c-time { width: 11.5em; } #detections col.c-level { width: 8em; } #detections col.c-computer { width: 13%; }
#detections col.c-channel { width: 8%; } #detections col.c-eid { width: 4.5em; } #detections col.c-rule { width: 20%; }
#detections .clamp { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden; }
#detections td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
#detections tr.detail > td { background: #f8fafb; }
.fields { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; margin: 0; }
.fields dt { color: var(--muted); font-size: 12px; }
.fields dd { margin: 0; }
.fields pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
`;
