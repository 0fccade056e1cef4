"""Operations as code: the Grafana dashboards of the docker/ stack (not shipped with the package)."""
