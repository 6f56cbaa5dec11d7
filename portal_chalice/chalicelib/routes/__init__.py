"""Route blueprints (thin): parse at the edge, call a service, shape the response."""
