"""``broker``: the event broker's command line for product teams, a client of the portal's REST API."""
