import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { DailyStats } from "../api/types";

const SERIES = [
  { key: "success", label: "Success", color: "#16a34a" },
  { key: "failed", label: "Failed", color: "#dc2626" },
  { key: "timeout", label: "Timeout", color: "#ea580c" },
] as const;

/** Daily success / failed / timeout counts (UTC days) as a line chart. */
export function TrendChart({ daily, height = 240 }: { daily: DailyStats[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  // Polling hands a new array every few seconds; redraw only when it changed.
  const signature = JSON.stringify(daily);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = daily.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
    const data: uPlot.AlignedData = [xs, ...SERIES.map((s) => daily.map((d) => d[s.key]))];
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      // The rows are UTC days: label them as such, whatever the browser's zone.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      cursor: { points: { size: 7 } },
      legend: { live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
      axes: [
        { stroke: "#64748b", grid: { stroke: "#eef2f7" }, ticks: { stroke: "#e2e8f0" } },
        { stroke: "#64748b", grid: { stroke: "#eef2f7" }, ticks: { stroke: "#e2e8f0" }, size: 44 },
      ],
      series: [
        { label: "Day", value: (_u, v) => (v == null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) },
        ...SERIES.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.key === "success" ? "rgba(22, 163, 74, 0.08)" : undefined,
          points: { show: true, size: 4, fill: s.color },
        })),
      ],
    };
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 300), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
    // `daily` is read through `signature`: same data, same chart.
  }, [signature, height]);

  return <div ref={box} data-testid="trend-chart" style={{ width: "100%" }} />;
}
