"""How the catalog adapter reports a cancelled transaction, against botocore's Stubber (no network).

The races a user can lose are exercised over moto in ``tests/functional/portal/test_races.py``; these
cover what moto does not produce: cancellations without a failed condition and other AWS errors.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from chalicelib.aws.catalog import CatalogRepository, Write
from chalicelib.aws.conflicts import EventExists, LostUpdate, QuotaExceeded

KEY = {"pk": {"S": "EVENT#order-created"}, "sk": {"S": "META"}}


def write(lost: Any = None) -> Write:
    operation = {"ConditionCheck": {"Key": KEY, "ConditionExpression": "attribute_not_exists(pk)"}}
    return Write(operation, lost) if lost is not None else Write(operation)


@pytest.fixture
def stubbed() -> tuple[CatalogRepository, Stubber]:
    client = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return CatalogRepository("catalog", lambda: client), Stubber(client)


def cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        http_status_code=400,
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def test_the_first_failed_condition_names_the_exception(stubbed: tuple[CatalogRepository, Stubber]) -> None:
    catalog, stubber = stubbed
    cancelled(stubber, "None", "ConditionalCheckFailed", "ConditionalCheckFailed")
    writes = [write(), write(lambda: EventExists("order-created")), write(lambda: QuotaExceeded("rules", 1))]
    with stubber, pytest.raises(EventExists) as raised:
        catalog.transact(writes)
    assert raised.value.event_type == "order-created"


def test_a_later_failed_condition_is_found_past_items_that_passed(stubbed: tuple[CatalogRepository, Stubber]) -> None:
    catalog, stubber = stubbed
    cancelled(stubber, "None", "None", "ConditionalCheckFailed")
    with stubber, pytest.raises(QuotaExceeded) as raised:
        catalog.transact([write(lambda: EventExists("x")), write(), write(lambda: QuotaExceeded("rules", 2))])
    assert (raised.value.counter, raised.value.amount) == ("rules", 2)


def test_a_cancellation_by_a_concurrent_transaction_is_a_lost_update(
    stubbed: tuple[CatalogRepository, Stubber],
) -> None:
    catalog, stubber = stubbed
    cancelled(stubber, "None", "TransactionConflict")
    with stubber, pytest.raises(LostUpdate):
        catalog.transact([write(lambda: EventExists("x")), write(lambda: QuotaExceeded("rules", 1))])


def test_other_aws_errors_are_not_taken_for_a_lost_race(stubbed: tuple[CatalogRepository, Stubber]) -> None:
    catalog, stubber = stubbed
    stubber.add_client_error("transact_write_items", "ProvisionedThroughputExceededException", http_status_code=400)
    with stubber, pytest.raises(ClientError):
        catalog.transact([write(lambda: EventExists("x"))])


def test_every_write_goes_to_the_catalog_table(stubbed: tuple[CatalogRepository, Stubber]) -> None:
    catalog, stubber = stubbed
    given = write()
    expected = {"TransactItems": [{"ConditionCheck": {**given.operation["ConditionCheck"], "TableName": "catalog"}}]}
    stubber.add_response("transact_write_items", {}, expected)
    with stubber:
        catalog.transact([given])
    stubber.assert_no_pending_responses()
    assert "TableName" not in given.operation["ConditionCheck"]  # a write can be sent again as built
