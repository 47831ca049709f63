// A small renderer for the subset of Helm templates charts/herald uses, because no helm binary can run
// here: actions {{ }} with whitespace trimming ({{- -}}), comments, define/include, if/else/with/end,
// $var :=, pipelines, and the functions default, trunc, trimSuffix, contains, printf (%s), replace,
// quote, toYaml, nindent, indent, required, not, and, or, eq. Anything else throws, so a template
// using more than this fails the tests instead of rendering wrongly. It is no substitute for `helm
// template`; docs/install.md says so.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml, stringify } from "yaml";

type Node =
  | { t: "text"; s: string }
  | { t: "out"; expr: string }
  | { t: "set"; name: string; expr: string }
  | { t: "if" | "with"; expr: string; then: Node[]; else: Node[] }
  | { t: "define"; name: string; body: Node[] };

interface Token {
  kind: "text" | "action";
  s: string;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re = /\{\{(-?)([\s\S]*?)(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    let text = src.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (m[1] === "-" && (m[2]!.startsWith(" ") || m[2]!.startsWith("\n"))) text = text.replace(/\s+$/, "");
    out.push({ kind: "text", s: text });
    const body = m[2]!.trim();
    if (!body.startsWith("/*")) out.push({ kind: "action", s: body });
    trimNext = m[3] === "-" && /\s$/.test(m[2]!);
    last = m.index + m[0].length;
  }
  let tail = src.slice(last);
  if (trimNext) tail = tail.replace(/^\s+/, "");
  out.push({ kind: "text", s: tail });
  return out;
}

function parseNodes(tokens: Token[], pos: { i: number }, stopAt: string[]): { nodes: Node[]; stop: string } {
  const nodes: Node[] = [];
  while (pos.i < tokens.length) {
    const tok = tokens[pos.i++]!;
    if (tok.kind === "text") {
      if (tok.s) nodes.push({ t: "text", s: tok.s });
      continue;
    }
    const a = tok.s;
    const word = a.split(/\s+/)[0]!;
    if (stopAt.includes(word)) return { nodes, stop: word };
    if (word === "if" || word === "with") {
      const first = parseNodes(tokens, pos, ["else", "end"]);
      const second = first.stop === "else" ? parseNodes(tokens, pos, ["end"]).nodes : [];
      nodes.push({ t: word, expr: a.slice(word.length).trim(), then: first.nodes, else: second });
    } else if (word === "define") {
      const body = parseNodes(tokens, pos, ["end"]).nodes;
      nodes.push({ t: "define", name: JSON.parse(a.slice(6).trim()), body });
    } else if (word === "range" || word === "template" || word === "block" || word === "else") {
      throw new Error(`helm-lite does not support {{ ${a} }}`);
    } else if (/^\$\w+\s*:?=/.test(a)) {
      const [, name, expr] = /^(\$\w+)\s*:?=\s*([\s\S]*)$/.exec(a)!;
      nodes.push({ t: "set", name: name!, expr: expr! });
    } else nodes.push({ t: "out", expr: a });
  }
  if (stopAt.length) throw new Error(`missing {{ end }} (wanted ${stopAt.join("/")})`);
  return { nodes, stop: "" };
}

const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0));
const str = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
const toYaml = (v: unknown) => (v === undefined || v === null ? "null" : stringify(v, { lineWidth: 0 }).replace(/\n$/, ""));
const indentLines = (n: number, s: string) =>
  s
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");

export interface ChartContext {
  Values: Record<string, unknown>;
  Chart: { Name: string; Version: string; AppVersion: string };
  Release: { Name: string; Namespace: string; Service: string };
  Files: { Get: (path: string) => string };
}

export class HelmLite {
  private readonly defines = new Map<string, Node[]>();

  constructor(private readonly chartDir: string) {
    for (const f of readdirSync(join(chartDir, "templates")).filter((x) => x.endsWith(".tpl"))) this.collectDefines(readFileSync(join(chartDir, "templates", f), "utf8"));
  }

  private collectDefines(src: string): Node[] {
    const nodes = parseNodes(tokenize(src), { i: 0 }, []).nodes;
    for (const n of nodes) if (n.t === "define") this.defines.set(n.name, n.body);
    return nodes;
  }

  context(values: Record<string, unknown>, release = { Name: "herald", Namespace: "herald-system" }): ChartContext {
    const chart = parseYaml(readFileSync(join(this.chartDir, "Chart.yaml"), "utf8"));
    return {
      Values: values,
      Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
      Release: { ...release, Service: "Helm" },
      Files: { Get: (p: string) => readFileSync(join(this.chartDir, p), "utf8") },
    };
  }

  /** Renders one template file; "" when its guards leave nothing. */
  render(file: string, ctx: ChartContext): string {
    const nodes = this.collectDefines(readFileSync(join(this.chartDir, "templates", file), "utf8"));
    return this.exec(nodes, ctx, ctx, new Map());
  }

  /** Renders every template (not _*.tpl, not NOTES.txt) into objects. */
  renderAll(ctx: ChartContext): Array<{ file: string; objects: any[] }> {
    return readdirSync(join(this.chartDir, "templates"))
      .filter((f) => f.endsWith(".yaml"))
      .sort()
      .map((file) => ({
        file,
        objects: this.render(file, ctx)
          .split(/^---$/m)
          .map((d) => parseYaml(d, { uniqueKeys: true }))
          .filter((o) => o !== null && o !== undefined),
      }));
  }

  private exec(nodes: Node[], dot: unknown, root: ChartContext, vars: Map<string, unknown>): string {
    let out = "";
    for (const n of nodes) {
      if (n.t === "text") out += n.s;
      else if (n.t === "define") continue;
      else if (n.t === "set") vars.set(n.name, this.evalPipeline(n.expr, dot, root, vars));
      else if (n.t === "out") out += str(this.evalPipeline(n.expr, dot, root, vars));
      else {
        const v = this.evalPipeline(n.expr, dot, root, vars);
        if (truthy(v)) out += this.exec(n.then, n.t === "with" ? v : dot, root, vars);
        else out += this.exec(n.else, dot, root, vars);
      }
    }
    return out;
  }

  private evalPipeline(expr: string, dot: unknown, root: ChartContext, vars: Map<string, unknown>): unknown {
    const stages = splitTop(expr, "|");
    let value: unknown;
    stages.forEach((stage, i) => {
      const terms = splitTerms(stage);
      const args = i === 0 ? [] : [value];
      value = this.call(terms, args, dot, root, vars);
    });
    return value;
  }

  private term(t: string, dot: unknown, root: ChartContext, vars: Map<string, unknown>): unknown {
    if (t.startsWith("(")) return this.evalPipeline(t.slice(1, -1), dot, root, vars);
    if (t.startsWith('"')) return JSON.parse(t);
    if (/^-?\d+$/.test(t)) return Number(t);
    if (t === "true" || t === "false") return t === "true";
    if (t === "nil") return null;
    if (t === ".") return dot;
    if (t.startsWith("$")) {
      if (!vars.has(t)) throw new Error(`undefined variable ${t}`);
      return vars.get(t);
    }
    if (t.startsWith(".")) {
      let v: any = dot;
      for (const part of t.slice(1).split(".")) v = v === undefined || v === null ? undefined : v[part];
      return v;
    }
    throw new Error(`helm-lite: unknown term ${t}`);
  }

  private call(terms: string[], piped: unknown[], dot: unknown, root: ChartContext, vars: Map<string, unknown>): unknown {
    const [head, ...rest] = terms;
    const fn = FUNCS[head!];
    if (!fn && head !== "include") {
      const v = this.term(head!, dot, root, vars);
      if (typeof v === "function") return v(...rest.map((r) => this.term(r, dot, root, vars)), ...piped);
      if (rest.length || piped.length) throw new Error(`helm-lite: ${head} is not a function`);
      return v;
    }
    const args = [...rest.map((r) => this.term(r, dot, root, vars)), ...piped];
    if (head === "include") {
      const body = this.defines.get(args[0] as string);
      if (!body) throw new Error(`include of undefined template ${String(args[0])}`);
      return this.exec(body, args[1], root, new Map());
    }
    return fn!(...args);
  }
}

const FUNCS: Record<string, (...a: any[]) => unknown> = {
  default: (d, v) => (truthy(v) ? v : d),
  trunc: (n: number, s) => str(s).slice(0, n),
  trimSuffix: (suf: string, s) => (str(s).endsWith(suf) ? str(s).slice(0, -suf.length) : str(s)),
  contains: (sub: string, s) => str(s).includes(sub),
  printf: (fmt: string, ...a) => {
    let i = 0;
    return fmt.replace(/%s/g, () => str(a[i++]));
  },
  replace: (from: string, to: string, s) => str(s).split(from).join(to),
  quote: (v) => JSON.stringify(str(v)),
  toYaml,
  nindent: (n: number, s) => `\n${indentLines(n, str(s))}`,
  indent: (n: number, s) => indentLines(n, str(s)),
  required: (msg: string, v) => {
    if (!truthy(v)) throw new Error(msg);
    return v;
  },
  not: (v) => !truthy(v),
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  eq: (a, b) => a === b,
};

/** Splits where `isSep` holds, outside quotes and parentheses. */
function splitOutside(s: string, isSep: (c: string) => boolean): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' && s[i - 1] !== "\\") quoted = !quoted;
    if (!quoted && c === "(") depth++;
    if (!quoted && c === ")") depth--;
    if (!quoted && depth === 0 && isSep(c)) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Pipeline stages: split on `sep` outside quotes and parentheses. */
const splitTop = (s: string, sep: string): string[] => splitOutside(s, (c) => c === sep).map((x) => x.trim());

/** A stage's terms: split on white space outside quotes and parentheses. */
const splitTerms = (s: string): string[] => splitOutside(s, (c) => /\s/.test(c)).filter(Boolean);

/** The template with every {{ }} action removed (what "parses as YAML once its actions are taken out" means). */
export function stripActions(src: string): string {
  return src.replace(/\{\{-?[\s\S]*?-?\}\}/g, "");
}
