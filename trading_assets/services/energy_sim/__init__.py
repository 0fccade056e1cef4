"""The energy-market simulator: ENTSO-E-style documents over HTTP and intraday trade files over FTP."""
