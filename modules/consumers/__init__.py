"""Consumer components: how one subscription receives its events from the broker's bus.

Every consumer is an EventBridge rule (``route.ConsumerRoute``, pattern from
``pattern.consumer_event_pattern``) with one target: a Lambda function, an SQS queue or an HTTPS
endpoint behind an API destination. Import the submodule you need.
"""
