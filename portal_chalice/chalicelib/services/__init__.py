"""Portal logic: events, subscriptions, deployments; adapters are injected through ``Backend``."""
