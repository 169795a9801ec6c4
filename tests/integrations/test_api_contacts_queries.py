"""REST: the contact list costs the same number of queries however many contacts."""

from __future__ import annotations

import pytest

from tests.integrations.outbound_rows import make_conversation, make_integration

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [1, 6])
def test_the_contact_list_query_count_does_not_grow_with_rows(
    company, admin_user, api_client_for, django_assert_num_queries, count: int
) -> None:
    integration = make_integration(company, "twilio")
    for i in range(count):
        make_conversation(integration, name=f"Cliente {i}", phone=f"+55119876543{i:02d}")
    api = api_client_for(admin_user)
    with django_assert_num_queries(4):  # user, membership, count, page
        response = api.get("/api/v1/companies/loja-azul/contacts/")
    assert len(response.json()["results"]) == count
