"""Pieces of the core (broker) stack: its IAM policies and the producers' API."""
