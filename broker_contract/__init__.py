"""The broker's shared contract: one definition of events, envelopes, deployment files and names.

Portal and generator import these models; neither defines its own copy.
"""
