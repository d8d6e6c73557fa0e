/** Counters and gauges, rendered in the Prometheus text format for GET /metrics. */
type Labels = Record<string, string>;

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  #family(name: string, help: string, type: Family["type"]): Family {
    let family = this.#families.get(name);
    if (!family) {
      family = { help, type, values: new Map() };
      this.#families.set(name, family);
    }
    return family;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const family = this.#family(name, help, "counter");
    const key = JSON.stringify(labels);
    const current = family.values.get(key);
    if (current) current.value += by;
    else family.values.set(key, { labels, value: by });
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.#family(name, help, "gauge").values.set(JSON.stringify(labels), { labels, value });
  }

  get(name: string, labels: Labels = {}): number {
    return this.#families.get(name)?.values.get(JSON.stringify(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      for (const { labels, value } of family.values.values()) {
        const text = Object.entries(labels)
          .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
          .join(",");
        lines.push(`${name}${text ? `{${text}}` : ""} ${Number.isFinite(value) ? value : 0}`);
      }
    }
    return `${lines.join("\n")}\n`;
  }
}
