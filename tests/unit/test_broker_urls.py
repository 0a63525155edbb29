"""BUS_URL may list the nodes of a RabbitMQ cluster; every client then fails over between them."""
from __future__ import annotations

from shared.bus.topology import broker_urls, connect


def test_a_url_listing_three_nodes_becomes_one_url_per_node_with_the_same_account_and_vhost():
    assert broker_urls("amqp://crm:s3cret@rabbitmq-1:5672,rabbitmq-2:5672,rabbitmq-3:5672//") == (
        "amqp://crm:s3cret@rabbitmq-1:5672//;amqp://crm:s3cret@rabbitmq-2:5672//;amqp://crm:s3cret@rabbitmq-3:5672//")
    assert broker_urls("amqps://u:p@a,b/prod") == "amqps://u:p@a/prod;amqps://u:p@b/prod"


def test_a_single_node_or_a_list_already_in_kombus_form_is_kept():
    for url in ("amqp://crm:pw@rabbitmq:5672//", "amqp://a//;amqp://b//", "memory://", "filesystem:///var/bus"):
        assert broker_urls(url) == url


def test_the_connection_knows_every_node_and_starts_with_the_first():
    conn = connect("amqp://crm:pw@rabbitmq-1:5672,rabbitmq-2:5673,rabbitmq-3:5674//")
    assert conn.hostname == "rabbitmq-1" and conn.port == 5672 and conn.userid == "crm"
    assert conn.alt == [f"amqp://crm:pw@rabbitmq-{i}:{5671 + i}//" for i in (1, 2, 3)]
    conn.maybe_switch_next()  # what kombu does when a connection to rabbitmq-1 fails
    assert (conn.hostname, conn.port, conn.password, conn.virtual_host) == ("rabbitmq-2", 5673, "pw", "/")
