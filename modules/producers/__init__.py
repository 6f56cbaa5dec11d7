"""Producer components: how a producer puts one event version on the broker's bus.

``https.HttpsProducerEndpoint`` adds ``POST /<event_type>/<version>`` to the producers' REST API;
``sqs.SqsProducerPipe`` pipes a dedicated queue into the bus. Import the submodule you need.
"""
