"""The self-service portal's library: routes (thin), services (logic) and AWS adapters."""
