"""Operations: liveness and readiness for a proxy or an orchestrator, Prometheus metrics."""
