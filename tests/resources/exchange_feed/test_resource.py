from resources.exchange_feed.resource import VenueHistoryResource


def test_venues_with_rest_history_get_a_client_pointing_at_their_url() -> None:
    resource = VenueHistoryResource(binance_rest_url="http://127.0.0.1:1", sim_rest_url="http://127.0.0.1:2")

    assert resource.client_for("binance").base_url == "http://127.0.0.1:1"  # type: ignore[union-attr]
    assert resource.client_for("sim").base_url == "http://127.0.0.1:2"  # type: ignore[union-attr]
    assert resource.client_for("finnhub") is None


def test_a_venue_declared_without_history_is_never_asked() -> None:
    resource = VenueHistoryResource(sim_rest_url="http://127.0.0.1:2", without_history=["sim"])

    assert resource.client_for("sim") is None
