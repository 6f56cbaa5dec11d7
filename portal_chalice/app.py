"""The self-service portal: the Chalice app and its blueprints (all logic lives in chalicelib)."""

from __future__ import annotations

from chalice.app import Chalice
from chalicelib.auth import auth_blueprint
from chalicelib.middleware import unhandled_errors
from chalicelib.routes.catalog import catalog_blueprint
from chalicelib.routes.deployments import deployments_blueprint
from chalicelib.routes.events import events_blueprint
from chalicelib.routes.meta import meta_blueprint
from chalicelib.routes.producers import producers_blueprint
from chalicelib.routes.subscriptions import subscriptions_blueprint

app = Chalice(app_name="event-broker-portal")
app.register_middleware(unhandled_errors, "http")
app.register_blueprint(auth_blueprint)
app.register_blueprint(events_blueprint)
app.register_blueprint(subscriptions_blueprint)
app.register_blueprint(deployments_blueprint)
app.register_blueprint(producers_blueprint)
app.register_blueprint(meta_blueprint)
app.register_blueprint(catalog_blueprint)
