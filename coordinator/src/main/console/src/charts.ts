// The overview's live charts: uPlot (small, fast, no dependencies), fed from the coordinator's 15-minute ring.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Overview } from "./api";

/** The coordinator keeps 15 minutes of samples. */
const WINDOW_SECONDS = 15 * 60;

interface Line { key: string; label: string; stroke: string }

class Chart {
  private plot: uPlot | null = null;

  constructor(private readonly host: HTMLElement, private readonly title: string,
              private readonly unit: string, private readonly lines: Line[]) {}

  update(series: Overview["series"]): void {
    const data: uPlot.AlignedData = [
      series.time ?? [],
      ...this.lines.map((line) => series[line.key] ?? []),
    ] as uPlot.AlignedData;
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    this.plot = new uPlot({
      title: this.title,
      width: Math.max(280, this.host.clientWidth || 360),
      height: 180,
      // Always the ring's whole window, so a chart reads the same from its first sample on.
      scales: { x: { time: true, range: (_u, _min, max) => [max - WINDOW_SECONDS, max] } },
      axes: [{}, { label: this.unit, size: 60 }],
      // Points as well as lines: a percentile is missing for every interval without calls, so a
      // quiet coordinator's samples are often single points between gaps.
      series: [{}, ...this.lines.map((line) => ({
        label: line.label, stroke: line.stroke, width: 2, points: { show: true, size: 4 },
      }))],
    }, data, this.host);
  }
}

export class Charts {
  private readonly charts: Chart[];

  constructor(calls: HTMLElement, latency: HTMLElement, tokens: HTMLElement) {
    this.charts = [
      new Chart(calls, "Calls per second", "per s", [
        { key: "calls_per_second", label: "calls/s", stroke: "#2b6cb0" },
        { key: "errors_per_second", label: "errors/s", stroke: "#c53030" },
      ]),
      new Chart(latency, "Latency (ms)", "ms", [
        { key: "ttft_p50_ms", label: "TTFT p50", stroke: "#2f855a" },
        { key: "ttft_p99_ms", label: "TTFT p99", stroke: "#9ae6b4" },
        { key: "latency_p50_ms", label: "call p50", stroke: "#6b46c1" },
        { key: "latency_p99_ms", label: "call p99", stroke: "#d6bcfa" },
      ]),
      new Chart(tokens, "Tokens per second", "per s", [
        { key: "tokens_per_second", label: "tokens/s", stroke: "#b7791f" },
      ]),
    ];
  }

  update(overview: Overview): void {
    for (const chart of this.charts) chart.update(overview.series);
  }
}
