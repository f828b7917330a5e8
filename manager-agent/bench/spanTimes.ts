/**
 * A bench-only tracer: every span the product's `Effect.fn`s open is timed in memory, so a benchmark can print where
 * a path spends its time (BENCH_TRACE=1) without an OpenTelemetry collector.
 */
import { Layer, Tracer } from "effect"

export interface SpanTimes {
  readonly layer: Layer.Layer<never>
  /** Forget what was timed so far (before the phase to break down). */
  readonly reset: () => void
  /** Per span name: count, p50 and max in ms, slowest p50 first. */
  readonly table: (minP50Ms?: number) => string
}

export const makeSpanTimes = (): SpanTimes => {
  const times = new Map<string, Array<number>>()
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        end(endTime, exit)
        const list = times.get(options.name) ?? []
        list.push(Number(endTime - options.startTime) / 1e6)
        times.set(options.name, list)
      }
      return span
    },
  })
  return {
    layer: Layer.succeed(Tracer.Tracer, tracer),
    reset: () => times.clear(),
    table: (minP50Ms = 1) => {
      const rows = [...times.entries()].map(([name, list]) => {
        const sorted = [...list].sort((a, b) => a - b)
        return { name, n: list.length, p50: sorted[Math.floor((sorted.length - 1) / 2)]!, max: sorted.at(-1)! }
      })
      return rows
        .filter((r) => r.p50 >= minP50Ms)
        .sort((a, b) => b.p50 - a.p50)
        .map((r) => `${r.name.padEnd(44)} n=${String(r.n).padStart(4)}  p50 ${r.p50.toFixed(1).padStart(8)} ms  max ${r.max.toFixed(1).padStart(8)} ms`)
        .join("\n")
    },
  }
}
