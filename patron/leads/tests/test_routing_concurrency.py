import threading

import pytest
from django.db import connection, connections

from patron.core.models import User
from patron.core.tests.factories import TeamFactory, UserFactory, role
from patron.leads import services
from patron.leads.models import Lead

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises every write anyway"
    ),
]


def test_round_robin_never_hands_out_a_turn_twice() -> None:
    """Eight leads created at the same moment by eight connections: the rule's pointer is
    locked, so each of four members gets exactly two."""
    team = TeamFactory(name="Inbound")
    for i in range(4):
        UserFactory(username=f"rr{i}", role=role("sales_rep"), team=team)
    member_ids = list(User.objects.filter(team__name="Inbound").values_list("pk", flat=True))
    services.assignment_rule_create(
        actor=None, data={"name": "RR", "kind": "round_robin", "team": team}
    )
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            start.wait()
            services.lead_create(actor=None, data={"email": f"c{i}@example.com"})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    owners = sorted(Lead.objects.values_list("owner_id", flat=True))
    assert owners == sorted(member_ids * 2)
