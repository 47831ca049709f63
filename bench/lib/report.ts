// Results of N runs per system → a side-by-side table (median, with min–max when N > 1), or JSON.
import { spread, type Spread } from "./stats.js";
import { LABEL, type SystemName } from "./names.js";
/** One run's figures by name. */
export type Metrics = Record<string, number>;

export interface Row {
  key: string;
  label: string;
  digits?: number;
}

export interface Section {
  title: string;
  rows: Row[];
  runs: Partial<Record<SystemName, Metrics[]>>;
}

export interface Report {
  scenario: string;
  date: string;
  commit: string;
  command: string;
  heraldDir: string;
  heraldCommit: string;
  notes: string[];
  settings: Partial<Record<SystemName, Record<string, string>>>;
  sections: Section[];
}

function cell(s: Spread, n: number, digits: number): string {
  if (!Number.isFinite(s.median)) return "—";
  const f = (x: number) => x.toFixed(digits);
  return n > 1 && s.min !== s.max ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

export function summariseSection(section: Section): Record<string, Partial<Record<SystemName, Spread & { runs: number[] }>>> {
  const out: Record<string, Partial<Record<SystemName, Spread & { runs: number[] }>>> = {};
  for (const row of section.rows) {
    out[row.key] = {};
    for (const [sys, runs] of Object.entries(section.runs) as [SystemName, Metrics[]][]) {
      const values = runs.map((m) => m[row.key] ?? NaN);
      out[row.key]![sys] = { ...spread(values), runs: values };
    }
  }
  return out;
}

export function renderTable(report: Report): string {
  const lines: string[] = [];
  lines.push(`${report.scenario} — ${report.date}, bench at ${report.commit}, Herald from ${report.heraldDir} (${report.heraldCommit})`);
  lines.push(`command: ${report.command}`);
  for (const n of report.notes) lines.push(n);
  for (const [sys, s] of Object.entries(report.settings)) {
    const text = Object.entries(s!).map(([k, v]) => `${k}=${v}`).join(", ");
    lines.push(`${LABEL[sys as SystemName]} settings${sys === "herald" ? " (every non-default)" : ""}: ${text || "defaults"}`);
  }
  for (const section of report.sections) {
    const systems = Object.keys(section.runs) as SystemName[];
    const summary = summariseSection(section);
    const header = [section.title, ...systems.map((s) => LABEL[s])];
    const body = section.rows.map((row) => [row.label, ...systems.map((s) => cell(summary[row.key]![s]!, section.runs[s]!.length, row.digits ?? 1))]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    lines.push("", fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(fmt));
  }
  return lines.join("\n");
}

export function renderJson(report: Report): string {
  return JSON.stringify({ ...report, sections: report.sections.map((s) => ({ title: s.title, rows: s.rows, runs: s.runs, summary: summariseSection(s) })) }, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2);
}
