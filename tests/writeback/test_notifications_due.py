"""Which customer messages are due (dbt's wb_notifications, built by real dbt on the demo warehouse)
and sent (a recording SMTP server on loopback): an event that lands late (a carrier's weekly file)
still notifies within the maximum age, once, and never beyond it; marketplace buyers are not
emailed unless their marketplace's settings say so."""

from __future__ import annotations

from datetime import timedelta

from afterclick import warehouse
from afterclick.transform import run_dbt
from tests.conftest import WORLD_END
from writeback.adapters.email import store_messages

from pushing import RecordingSmtp, remember_keys, send_notifications


def _due(settings) -> dict[str, str]:
    """writeback_key -> channel of the messages the warehouse wants sent."""
    with warehouse.connect_read_only(settings.warehouse_path) as con:
        return dict(con.sql("select writeback_key, channel from writeback.wb_notifications").fetchall())


def _build(settings) -> None:
    result = run_dbt(settings.model_copy(update={"dbt_docs": False}), "build", select="wb_notifications")
    assert result.status == "success", result.errors


def _delivered_between(con, oldest_hours: float, newest_hours: float) -> str:
    """A parcel of an API store's order (with a customer address) delivered that many hours before the as-of instant."""
    [(shipment_id,)] = con.execute(
        """select s.shipment_id from marts.fct_shipments as s
           inner join marts.fct_orders as o on s.order_key = o.order_key
           where o.channel <> 'marketplace' and o.customer_email like '%@%'
             and s.delivered_at between ? and ?
           order by s.shipment_id limit 1""",
        [WORLD_END - timedelta(hours=oldest_hours), WORLD_END - timedelta(hours=newest_hours)],
    ).fetchall()
    return shipment_id


def test_a_late_landed_delivery_notifies_once_within_the_maximum_age_and_never_beyond(wb):
    assert wb.writeback.notification_max_age_hours == 240
    with warehouse.connect(wb) as con:
        late = _delivered_between(con, 200, 100)  # older than the 72 h lookback, within the 240 h maximum age
        too_old = _delivered_between(con, 400, 300)  # beyond the maximum age
        keys = {
            shipment: f"delivered:{order_key}:{shipment}"
            for shipment, order_key in con.execute(
                "select shipment_id, order_key from marts.fct_shipments where shipment_id in (?, ?)", [late, too_old]
            ).fetchall()
        }
        # the carrier's weekly file brings both deliveries an hour before the as-of instant
        con.execute(
            "update intermediate.int_tracking_events set _loaded_at = ? "
            "where shipment_id in (?, ?) and canonical_status = 'delivered'",
            [WORLD_END - timedelta(hours=1), late, too_old],
        )
    assert keys[late] not in _due(wb) and keys[too_old] not in _due(wb)  # the last build: landed after it

    _build(wb)
    due = _due(wb)
    assert keys[late] in due  # late, yet within the maximum age
    assert keys[too_old] not in due  # too old, however recently it landed

    remember_keys(due)
    with RecordingSmtp() as server:
        first = send_notifications(wb, server.smtp(wb), store_messages(wb))
        _build(wb)  # built and pushed again: the late event is still due, and not sent twice
        second = send_notifications(wb, server.smtp(wb), store_messages(wb))
    sent = [m.key for m in server.accepted]
    assert sent.count(keys[late]) == 1 and keys[too_old] not in sent
    assert first.total("pushed") == len(due) and second.total("pushed") == 0


def test_marketplace_buyers_are_emailed_only_when_their_marketplace_allows_it(wb):
    _build(wb)
    assert "marketplace" not in set(_due(wb).values())  # off by default
    with warehouse.connect_read_only(wb.warehouse_path) as con:
        [(amazon_orders,)] = con.sql(
            "select count(*) from marts.fct_orders where store_id = 'amazon-es' and customer_email like '%@%'"
        ).fetchall()
    assert amazon_orders > 0  # there are buyers who could have been emailed

    switched = {
        store_id: source.model_copy(
            update={"messages": source.messages.model_copy(update={"email_buyers": store_id == "amazon-es"})}
        )
        for store_id, source in wb.marketplaces.items()
    }
    on = wb.model_copy(update={"marketplaces": switched})
    _build(on)
    due = _due(on)
    amazon = {key for key, channel in due.items() if channel == "marketplace"}
    assert amazon  # amazon-es's buyers now get their messages...
    with warehouse.connect_read_only(on.warehouse_path) as con:
        stores = dict(con.sql("select writeback_key, store_id from writeback.wb_notifications").fetchall())
    assert {stores[key] for key in amazon} == {"amazon-es"}  # ...and miravia-es's still do not

    remember_keys(due)
    with RecordingSmtp() as server:
        send_notifications(on, server.smtp(on), store_messages(on))
    assert amazon <= {m.key for m in server.accepted}
