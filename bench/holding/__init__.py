"""The in-flight benchmark's app: a saga whose one step waits at a gate until the benchmark opens it."""
