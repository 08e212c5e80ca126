"""OpenTelemetry tracing of runs, nodes, invocations and sandbox hops (plugin ``telemetry``); see docs/telemetry.md."""
