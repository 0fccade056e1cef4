import dagster as dg
import pytest

from resources.exchange_feed.binance import BinanceHistory
from resources.exchange_feed.resource import VenueHistoryResource


def test_venues_with_history_get_one_at_their_configured_url() -> None:
    resource = VenueHistoryResource(
        rest_urls={"binance": "http://127.0.0.1:1", "sim": "http://127.0.0.1:2"},
        timeout_s=3.0,
        max_attempts=2,
    )

    binance, sim = resource.history_for("binance"), resource.history_for("sim")

    assert isinstance(binance, BinanceHistory) and isinstance(sim, BinanceHistory)
    assert (binance.venue, binance.rest.base_url) == ("binance", "http://127.0.0.1:1")
    assert (sim.venue, sim.rest.base_url) == ("sim", "http://127.0.0.1:2")
    assert (sim.rest.timeout_s, sim.rest.max_attempts) == (3.0, 2)
    assert resource.history_for("finnhub") is None  # no trade ids, no history


def test_a_venue_without_a_configured_url_uses_its_default_endpoint() -> None:
    history = VenueHistoryResource().history_for("binance")

    assert isinstance(history, BinanceHistory) and history.rest.base_url == "https://api.binance.com"


def test_a_venue_declared_without_history_or_unknown_is_never_asked() -> None:
    resource = VenueHistoryResource(rest_urls={"sim": "http://127.0.0.1:2"}, without_history=["sim"])

    assert resource.history_for("sim") is None
    assert resource.history_for("nowhere") is None


def test_the_resource_never_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEGRAPH_SIM_REST_URL", "http://127.0.0.1:9")
    history = VenueHistoryResource().history_for("sim")

    assert isinstance(history, BinanceHistory) and history.rest.base_url == "http://127.0.0.1:8766"


def test_its_config_is_what_dagster_shows() -> None:
    resource = VenueHistoryResource(rest_urls={"sim": "http://127.0.0.1:2"}, without_history=["binance"])

    @dg.asset
    def probe(venue_history: VenueHistoryResource) -> str:
        history = venue_history.history_for("sim")
        assert isinstance(history, BinanceHistory)
        return history.rest.base_url

    result = dg.materialize([probe], resources={"venue_history": resource})

    assert result.output_for_node("probe") == "http://127.0.0.1:2"
    assert resource.rest_urls == {"sim": "http://127.0.0.1:2"} and resource.without_history == ["binance"]
